import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect as connectTcp } from 'node:net';
import express from 'express';
import { WebSocketServer } from 'ws';
import { startUpstream, type Upstream } from './upstream';

// The upstream and the raw handshake of the path-rule tests (test/path-rule*.test.ts): an app that
// routes on the path it receives, with an /admin area maintenance must keep closed.

/** What the upstream saw: every request target, and the requests its /admin area handled. */
export interface AppUpstream {
  readonly upstream: Upstream;
  readonly received: string[];
  readonly admin: string[];
  readonly sockets: string[];
}

/** An Express app routing on the path it receives, with a WebSocket endpoint on every path. */
export async function startAppUpstream(): Promise<AppUpstream> {
  const received: string[] = [];
  const admin: string[] = [];
  const sockets: string[] = [];
  const app = express();
  app.use((req, _res, next) => {
    received.push(req.url);
    next();
  });
  app.all('/healthz', (_req, res) => void res.send('healthy'));
  app.all('/admin/*rest', (req, res) => {
    admin.push(`${req.method} ${req.url}`);
    res.send('admin area');
  });
  app.all('/public/*rest', (req, res) => void res.send(`public ${req.url}`));
  app.use((_req: IncomingMessage, res: ServerResponse) => res.writeHead(404).end('no such page'));
  const upstream = await startUpstream(app);
  const wss = new WebSocketServer({ server: upstream.server });
  wss.on('connection', (socket, req) => {
    sockets.push(req.url ?? '');
    socket.on('message', (data) => socket.send(`app:${String(data)}`));
  });
  return { upstream, received, admin, sockets };
}

/**
 * The status of a WebSocket handshake for `path` sent as written (a WebSocket client would resolve
 * the dot segments itself before sending); fails unless the status line arrives within 5 s.
 */
export function handshakeStatus(origin: string, path: string): Promise<number> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer to the handshake for ${path}`)), 5000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const line = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (!line) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(line[1]));
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
}
