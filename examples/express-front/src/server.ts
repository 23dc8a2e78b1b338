// An Express front end: maintenance first, then the proxy to wherever Redis says the site lives now.
// PORT (default 8080), HOST (default 127.0.0.1; 0.0.0.0 to serve other machines), SWITCHYARD_REDIS_URL
// (default redis://127.0.0.1:6379). Flip it with `redis-cli SET switchyard:route:default <url>`.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createFrontEnd, expressServerOptions, shutDownGracefully } from '@switchyard/core';
import { expressMaintenance } from '@switchyard/maintenance';
import { expressProxy } from '@switchyard/proxy';
import express from 'express';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  const host = process.env.HOST ?? '127.0.0.1';
  const frontEnd = await createFrontEnd({ store: process.env.SWITCHYARD_REDIS_URL ?? 'redis://127.0.0.1:6379' });

  const maintenance = expressMaintenance({ frontEnd });
  // A WebSocket can write, so maintenance refuses new ones even when read-only; open ones stay open.
  const proxy = expressProxy({ frontEnd, upgradeGuard: maintenance.handler.guardUpgrade });
  const app = express();
  app.disable('x-powered-by');
  app.use(maintenance); // 503 pages, read-only, held writes
  app.use(proxy); // everything else, to the site's current server
  // A body parser would go after the proxy: the proxy streams the raw request body.

  // Rather than app.listen: each req and res is built with Express's prototypes, which Express would
  // otherwise swap in on every request, at a cost to the whole app (expressServerOptions' comment).
  const server = createServer(expressServerOptions(app), app).listen(port, host);
  proxy.attach(server); // WebSockets, behind the maintenance guard
  await once(server, 'listening');
  console.log(`express front end on http://${host}:${port}, routes from ${frontEnd.store.description}`);

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    // Held requests are answered, proxied ones get 10 s to finish, then WebSockets and the rest close.
    void shutDownGracefully(server, frontEnd, { release: [maintenance.handler], finally: [proxy], graceMs: 10_000 });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
