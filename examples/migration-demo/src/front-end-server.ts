import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFrontEnd, type FrontEnd, type Logger, type Store } from '@switchyard/core';
import { koaMaintenance } from '@switchyard/maintenance';
import { koaProxy } from '@switchyard/proxy';
import Koa from 'koa';

/** Options of startFrontEndServer. */
export interface FrontEndServerOptions {
  /** Where routes and maintenance state live (shared with whoever runs the cutover). */
  store: Store;
  /** The site this front end serves. */
  site: string;
  logger?: Logger;
}

/** A running Koa front end: maintenance, then the proxy to wherever the site's route points. */
export interface FrontEndServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly frontEnd: FrontEnd;
  close(): Promise<void>;
}

/** Starts the front end every request of the demo goes through, on 127.0.0.1 and a free port. */
export async function startFrontEndServer(options: FrontEndServerOptions): Promise<FrontEndServer> {
  const { store, site, logger } = options;
  // The cutover waits for in-flight writes to drain as the heartbeats report them; publish counter changes promptly.
  const frontEnd = await createFrontEnd({ store, ...(logger ? { logger } : {}), statsPublishIntervalMs: 20 });
  const maintenance = koaMaintenance({ frontEnd, site });
  const proxy = koaProxy({ frontEnd, site });
  const app = new Koa();
  app.use(maintenance);
  app.use(proxy);
  const server = createServer(app.callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    frontEnd,
    async close() {
      maintenance.handler.close();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
      proxy.close();
      await frontEnd.close();
    },
  };
}
