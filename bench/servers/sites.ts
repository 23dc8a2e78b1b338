// Memory per site and full-resync time: starts one front end on a Redis that holds the sites the
// bench wrote, and reports how long the first full read took, a forced full resync, and the memory
// it keeps (after a collection).
//   node --expose-gc … bench/servers/sites.ts <redis-url>
// Prints one JSON line: { sites, startMs, resyncMs, heapUsed, rss }.
import { performance } from 'node:perf_hooks';
import { createFrontEnd, silentLogger } from '@switchyard/core';

async function main(): Promise<void> {
  const [url = ''] = process.argv.slice(2);
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const t0 = performance.now();
  const frontEnd = await createFrontEnd({ store: url, logger: silentLogger });
  const startMs = performance.now() - t0;
  // A full resync is a full read of the store (what the watcher's periodic safety net does), timed
  // on its own: the watcher's resync() may join a read already under way.
  const t1 = performance.now();
  const raw = await frontEnd.store.readAll();
  const resyncMs = performance.now() - t1;
  if (raw === undefined) throw new Error('no state read');
  collect();
  const usage = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({ sites: frontEnd.watcher.allSites().length, startMs, resyncMs, heapUsed: usage.heapUsed, rss: usage.rss })}\n`,
  );
  await frontEnd.close();
  process.exit(0);
}

void main();
