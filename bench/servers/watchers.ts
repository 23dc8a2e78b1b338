// Flip propagation at scale: starts N front ends in this process, each with its own Redis connections
// exactly as a front end has (watcher command connection, invalidation subscriber, heartbeat), then
// times bare `SET`s of the route from a separate plain client until every front end applied it.
//   node … bench/servers/watchers.ts <redis-url> <count> <flips>
// Prints one JSON line: { startupMs, flips: [[ms per front end], …], missed }.
import { performance } from 'node:perf_hooks';
import { createFrontEnd, type FrontEnd, silentLogger } from '@switchyard/core';
import Redis from 'ioredis';

const [url = '', countArg = '1', flipsArg = '10'] = process.argv.slice(2);
const count = Number(countArg);
const flips = Number(flipsArg);
const DEADLINE_MS = 5000;
// Flips before the measured ones, not counted: the watchers' read path is compiled by V8 only after
// it has run a few thousand times, as with the throughput rounds' warm-up second.
const WARM_UP_FLIPS = 20;

async function main(): Promise<void> {
  const t0 = performance.now();
  const fronts: FrontEnd[] = [];
  // In batches, so 500 front ends do not open 1000 connections in one burst.
  for (let i = 0; i < count; i += 50) {
    const batch = Math.min(50, count - i);
    fronts.push(...(await Promise.all(Array.from({ length: batch }, () => createFrontEnd({ store: url, logger: silentLogger })))));
  }
  const startupMs = performance.now() - t0;
  const cli = new Redis(url, { protocol: 2 });
  await cli.ping();
  // The parent counts Redis's connections now, while every front end is connected.
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const results: number[][] = [];
  let missed = 0;
  for (let flip = -WARM_UP_FLIPS; flip < flips; flip += 1) {
    const target = `http://127.0.0.1:${20_000 + (flip % 40_000)}/${Date.now()}`;
    const times: number[] = [];
    let sentAt = 0;
    const applied = fronts.map(
      (front) =>
        new Promise<void>((resolve) => {
          const onChange = (site: string, state: { route?: { target: string } } | undefined) => {
            if (site === 'default' && state?.route?.target === target) {
              times.push(performance.now() - sentAt);
              front.watcher.off('change', onChange);
              resolve();
            }
          };
          front.watcher.on('change', onChange);
        }),
    );
    sentAt = performance.now();
    await cli.set('switchyard:route:default', target);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(applied), new Promise((resolve) => (timer = setTimeout(resolve, DEADLINE_MS)))]);
    clearTimeout(timer);
    if (flip >= 0) {
      missed += count - times.length;
      results.push(times);
    }
    // A short gap, so flips do not coalesce into one read.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.stdout.write(`${JSON.stringify({ startupMs, flips: results, missed })}\n`);
  cli.disconnect();
  await Promise.all(fronts.map((front) => front.close()));
  process.exit(0);
}

void main();
