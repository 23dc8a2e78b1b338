// A front end on plain node:http, no framework: createFrontDoor wires the health endpoint,
// maintenance, the proxy, WebSockets behind the maintenance guard, request ids, an access log,
// metrics and graceful shutdown — what `switchyard serve` runs. PORT (default 8080), HOST (default
// 127.0.0.1), METRICS_PORT (default: no metrics), ACCESS_LOG=1 (JSON lines on stdout),
// SWITCHYARD_REDIS_URL (default redis://127.0.0.1:6379).
import { createServer } from 'node:http';
import { createFrontEnd } from '@switchyard/core';
import { createMetrics } from '@switchyard/metrics';
import { createFrontDoor } from '@switchyard/proxy';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  const host = process.env.HOST ?? '127.0.0.1';
  const frontEnd = await createFrontEnd({ store: process.env.SWITCHYARD_REDIS_URL ?? 'redis://127.0.0.1:6379' });
  const metrics = process.env.METRICS_PORT ? createMetrics({ frontEnd, defaultMetrics: true }) : undefined;

  const door = createFrontDoor({
    frontEnd,
    healthPath: '/healthz', // answered here, never forwarded
    maintenance: { refresh: 30 },
    ...(process.env.ACCESS_LOG === '1' ? { accessLog: process.stdout } : {}),
    observers: metrics ? [metrics.observe] : [],
    timeouts: { headersTimeoutMs: 15_000, requestTimeoutMs: 300_000, keepAliveTimeoutMs: 5_000 },
  });
  await door.listen({ port, host });
  console.error(`plain front end on http://${host}:${port}, routes from ${frontEnd.store.description}`);
  const scrapes = metrics && createServer(metrics.handler).listen(Number(process.env.METRICS_PORT), '127.0.0.1');

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    // Health says "stopping", held requests are answered, proxied ones get 10 s, then the rest closes.
    void door.close({ graceMs: 10_000 }).then(() => {
      metrics?.close();
      scrapes?.close();
    });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
