import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in app server on 127.0.0.1: answers with its name, and its health status can be changed. */
export interface AppServer {
  readonly name: string;
  readonly url: string;
  readonly server: Server;
  /** Status of every answer (200 unless changed). */
  status: number;
  /** Requests received. */
  readonly requests: number;
  /** Stops it (again is a no-op). */
  close(): Promise<void>;
}

/** Starts an app server that answers every request with `<name> <method> <path>`. */
export async function startAppServer(name: string): Promise<AppServer> {
  let requests = 0;
  const app = {
    name,
    url: '',
    status: 200,
    get requests() {
      return requests;
    },
    server: createServer((req, res) => {
      requests += 1;
      res.writeHead(app.status, { 'content-type': 'text/plain' });
      res.end(`${name} ${req.method} ${req.url}`);
    }),
    async close() {
      if (!app.server.listening) return;
      app.server.closeAllConnections();
      app.server.close();
      await once(app.server, 'close');
    },
  };
  app.server.listen(0, '127.0.0.1');
  await once(app.server, 'listening');
  app.url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return app;
}
