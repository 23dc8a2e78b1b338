// Benchmarks Switchyard's request path against baselines measured in the same run, and the
// time a bare `SET` takes to reach two front-end processes. See bench/README.md.
//
//   npm run bench -- [--rounds 3] [--duration 5] [--connections 50] [--flips 50]
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { RedisServer } from '../test/support/redis-server';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    flips: { type: 'string', default: '50' },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const connections = Number(values.connections);
const flips = Number(values.flips);

interface Started {
  child: ChildProcess;
  port: number;
}

const children: ChildProcess[] = [];

async function start(script: string, args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(
    process.execPath,
    ['--conditions=switchyard-source', '--import', 'tsx', join(__dirname, 'servers', script), ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'warn', ...env },
    },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

async function measure(port: number): Promise<{ rps: number; p99: number; errors: number }> {
  const result = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration, pipelining: 1 });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

const median = (list: number[]) => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function throughput(redis: RedisServer): Promise<void> {
  const upstream = await start('upstream.ts', []);
  const target = `http://127.0.0.1:${upstream.port}`;
  const scenarios: Record<string, Started> = {
    'direct (no proxy)': upstream,
    'http-proxy + keep-alive (baseline)': await start('front.ts', ['http-proxy', target]),
    'switchyard plain http, memory store': await start('front.ts', ['http', target]),
    'express + http-proxy (framework baseline)': await start('front.ts', ['express-http-proxy', target]),
    'switchyard express, memory store': await start('front.ts', ['express', target]),
    'koa + koa-proxies (framework baseline)': await start('front.ts', ['koa-proxies', target]),
    'switchyard koa, memory store': await start('front.ts', ['koa', target]),
    'switchyard koa, redis store': await start('front.ts', ['koa', target], { SWITCHYARD_REDIS_URL: redis.url }),
  };
  const results = new Map<string, { rps: number[]; p99: number[]; errors: number }>();
  for (let round = 1; round <= rounds; round += 1) {
    for (const [name, { port }] of Object.entries(scenarios)) {
      const result = await measure(port);
      const entry = results.get(name) ?? { rps: [], p99: [], errors: 0 };
      entry.rps.push(result.rps);
      entry.p99.push(result.p99);
      entry.errors += result.errors;
      results.set(name, entry);
      console.error(`round ${round}: ${name}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms`);
    }
  }
  const baseline = median(results.get('http-proxy + keep-alive (baseline)')!.rps);
  const direct = median(results.get('direct (no proxy)')!.rps);
  console.log(`\n## Throughput (${rounds} rounds × ${duration} s, ${connections} connections, median of rounds)\n`);
  console.log('| scenario | req/s | p99 ms | vs http-proxy | vs direct | errors |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, entry] of results) {
    const rps = median(entry.rps);
    console.log(
      `| ${name} | ${Math.round(rps)} | ${median(entry.p99)} | ${(rps / baseline).toFixed(2)} | ${(rps / direct).toFixed(2)} | ${entry.errors} |`,
    );
  }
}

async function flipLatency(redis: RedisServer): Promise<void> {
  const fronts = [
    await start('front.ts', ['koa'], { SWITCHYARD_REDIS_URL: redis.url }),
    await start('front.ts', ['express'], { SWITCHYARD_REDIS_URL: redis.url }),
  ];
  const latencies: number[] = [];
  for (let flip = 0; flip < flips; flip += 1) {
    const target = `http://127.0.0.1:${20_000 + flip}`;
    const seen = fronts.map(
      ({ child }) =>
        new Promise<number>((resolve) => {
          const onMessage = (message: { type: string; target?: string; at: number }) => {
            if (message.type === 'change' && message.target === target) {
              child.off('message', onMessage);
              resolve(message.at);
            }
          };
          child.on('message', onMessage);
        }),
    );
    const sentAt = Date.now();
    await redis.cli.set('switchyard:route:default', target);
    const arrivals = await Promise.all(seen);
    latencies.push(Math.max(...arrivals) - sentAt);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`\n## Flip latency: bare \`redis-cli SET\` → applied by both of two front-end processes (${flips} flips)\n`);
  console.log(`median ${median(latencies)} ms, p95 ${sorted[Math.floor(sorted.length * 0.95)]} ms, worst ${sorted[sorted.length - 1]} ms`);
}

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  try {
    console.log(`node ${process.version}, ${new Date().toISOString()}`);
    await throughput(redis);
    await flipLatency(redis);
  } finally {
    for (const child of children) child.kill();
    await redis.stop();
  }
}

void main().then(() => process.exit(0));
