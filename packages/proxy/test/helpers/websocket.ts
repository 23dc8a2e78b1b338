import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { type ClientOptions, WebSocket, WebSocketServer } from 'ws';
import { startUpstream, type Upstream } from '../../../../test/support/upstream';
import { waitForEvent } from '../../../../test/support/wait';

/** A WebSocket echo server answering `<name>:<message>`, remembering the upgrade requests it saw. */
export interface EchoSocketServer {
  readonly upstream: Upstream;
  readonly upgrades: IncomingMessage[];
  readonly open: Set<WebSocket>;
  close(): Promise<void>;
}

/** Starts an EchoSocketServer on 127.0.0.1 and a free port. */
export async function startEchoSocketServer(name: string): Promise<EchoSocketServer> {
  const upstream = await startUpstream((_req, res) => res.end('not a websocket'));
  const wss = new WebSocketServer({ server: upstream.server });
  const upgrades: IncomingMessage[] = [];
  const open = new Set<WebSocket>();
  wss.on('connection', (socket, req) => {
    upgrades.push(req);
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('message', (data) => socket.send(`${name}:${String(data)}`));
  });
  return {
    upstream,
    upgrades,
    open,
    async close() {
      for (const socket of open) socket.terminate();
      wss.close();
      await upstream.close();
    },
  };
}

/** Opens a WebSocket (headers and source address in `options`); fails unless it opens within 5 s. */
export async function connect(url: string, options: ClientOptions = {}): Promise<WebSocket> {
  const socket = new WebSocket(url, options);
  await waitForEvent(socket, 'open', 5000);
  return socket;
}

/** Sends a message and resolves with the next one received. */
export async function exchange(socket: WebSocket, message: string): Promise<string> {
  const reply = once(socket, 'message', { signal: AbortSignal.timeout(5000) });
  socket.send(message);
  return String((await reply)[0]);
}

/** Resolves with the error of a handshake expected to fail, e.g. `Unexpected server response: 503`. */
export async function refusal(url: string, options: ClientOptions = {}): Promise<string> {
  const socket = new WebSocket(url, options);
  const [error] = (await waitForEvent(socket, 'error', 5000)) as [Error];
  return error.message;
}

/** Sends raw bytes on a fresh connection; resolves with everything received until the server closes it. */
export function rawExchange(url: URL, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(url.port), url.hostname);
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(text);
  });
}
