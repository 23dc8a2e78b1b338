import type { Server } from 'node:http';
import { startUpstream } from '../../../../test/support/upstream';

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
  const upstream = await startUpstream((req, res) => {
    requests += 1;
    res.writeHead(app.status, { 'content-type': 'text/plain' });
    res.end(`${name} ${req.method} ${req.url}`);
  });
  const app: AppServer = {
    name,
    url: upstream.url,
    server: upstream.server,
    status: 200,
    get requests() {
      return requests;
    },
    async close() {
      if (upstream.server.listening) await upstream.close();
    },
  };
  return app;
}
