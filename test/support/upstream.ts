import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A real HTTP server on a loopback address standing in for an app server, counting the connections it accepts. */
export interface Upstream {
  readonly server: Server;
  readonly url: string;
  /** Connections accepted since start. */
  readonly connections: number;
  /** Destroys every open connection (upgraded ones too) and waits until the server has closed. */
  close(): Promise<void>;
}

/** What the echo upstream answers: everything the proxy forwarded. */
export interface Echo {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Starts an upstream with the given request handler (a Koa `app.callback()` or an Express app will do) on `host` and a free port; `options` go to `http.createServer`. */
export async function startUpstream(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host = '127.0.0.1',
  options: ServerOptions = {},
): Promise<Upstream> {
  const server = createServer(options, handler);
  const sockets = new Set<Socket>();
  let connections = 0;
  server.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    get connections() {
      return connections;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Starts an upstream answering every request with a JSON Echo of it. */
export function startEchoUpstream(name: string): Promise<Upstream> {
  return startUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const echo: Echo = {
        name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(JSON.stringify(echo));
    });
  });
}
