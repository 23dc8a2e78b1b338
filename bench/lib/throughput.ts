import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/ports';
import { type LoadGenerator, type Measurement, median } from './load';
import { findNginx, startNginx } from './nginx';
import { cpuTimeMs, frontServer, type Started, startServer } from './processes';

/** One front end measured side by side with the others. */
export interface Scenario {
  /** The front's key; report.ts's LABELS names it in the report. */
  readonly key: string;
  start(): Promise<Started>;
}

/** Medians over the rounds of one scenario at one response size. */
export interface Result {
  readonly rps: number;
  readonly p99: number;
  readonly errors: number;
  /** Lowest and highest req/s of the rounds: the spread says how much to trust a ratio. */
  readonly low: number;
  readonly high: number;
  /** CPU time of the front's processes per request (µs), median of the rounds. */
  readonly cpuUs: number;
  /** req/s of each round, in round order: ratios round by round compare fronts measured close together. */
  readonly rounds: readonly number[];
}

/** The response sizes measured: the upstream's paths. */
export const SIZES = [
  { key: 'small', label: '100-byte response', path: '/' },
  { key: 'large', label: '64 KB response', path: '/64k' },
] as const;

export type SizeKey = (typeof SIZES)[number]['key'];

/** Everything the throughput part found. */
export interface ThroughputReport {
  readonly scenarios: readonly Scenario[];
  readonly results: Map<SizeKey, Map<string, Result>>;
  readonly notes: string[];
}

/**
 * The fronts of the throughput table, all in front of one upstream process. Peers get a static target
 * and a keep-alive agent (without one http-proxy sends `Connection: close`); Switchyard's fronts read
 * the target from Redis as a deployment does.
 */
export async function scenarios(upstream: Started, redisUrl: string, notes: string[]): Promise<Scenario[]> {
  const upstreamPort = upstream.port;
  const target = `http://127.0.0.1:${upstreamPort}`;
  const front = (mode: string) => () => {
    const { entry, args } = frontServer(mode, target);
    return startServer(entry, args, { SWITCHYARD_REDIS_URL: redisUrl });
  };
  const list: Scenario[] = [{ key: 'direct', start: async () => upstream }];
  const nginx = findNginx();
  if (nginx) {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-nginx-'));
    list.push({
      key: 'nginx',
      start: async () => startNginx(nginx.binary, dir, await freePort(), upstreamPort),
    });
  } else {
    notes.push('nginx is not installed (Debian: `apt-get install nginx-light`): its rows and ratios are missing from this run.');
  }
  // Each key is the front's mode in bench/servers (frontServer), except the CLI's.
  for (const key of [
    'http-proxy',
    'koa-proxies',
    'express-hpm',
    'serve',
    'serve-proxy',
    'serve-cli',
    'koa',
    'koa-proxy',
    'express',
    'express-listen',
    'express-bare',
    'mini-undici',
    'mini-node-http',
    'mini-raw',
  ]) {
    list.push({ key, start: front(key === 'serve-cli' ? 'cli' : key) });
  }
  return list;
}

/**
 * Measures every scenario at every size, round after round; within a round the order rotates, and
 * every other round it runs backwards, so drift on the machine, position and neighbour effects hit
 * all of them alike. Each front is warmed up first.
 */
export async function measureThroughput(
  list: readonly Scenario[],
  load: LoadGenerator,
  options: { rounds: number; durationS: number; connections: number; sizes: readonly SizeKey[]; log: (line: string) => void },
): Promise<Map<SizeKey, Map<string, Result>>> {
  const ports = new Map<string, number>();
  const pids = new Map<string, number>();
  for (const scenario of list) {
    const started = await scenario.start();
    ports.set(scenario.key, started.port);
    if (started.child?.pid !== undefined) pids.set(scenario.key, started.child.pid);
  }
  // The switchyard fronts write the route to Redis at start; give every watcher the same state.
  for (const scenario of list) {
    for (const size of SIZES.filter((s) => options.sizes.includes(s.key))) {
      await load.measure(`http://127.0.0.1:${ports.get(scenario.key)}${size.path}`, { connections: options.connections, durationS: 1 });
    }
  }
  const raw = new Map<SizeKey, Map<string, (Measurement & { cpuUs: number })[]>>();
  for (let round = 0; round < options.rounds; round += 1) {
    for (const size of SIZES.filter((s) => options.sizes.includes(s.key))) {
      // Reversed every other round as well: with rotation alone each front always follows the same
      // neighbour (koa right after the CLI, koa-proxy right after koa), so whatever a front leaves behind
      // when its round ends (its clients' connections closing, a collection) fell on one side of a pair.
      const rotated = list.map((_, i) => list[(i + round) % list.length]!);
      const order = round % 2 === 1 ? rotated.reverse() : rotated;
      for (const scenario of order) {
        const pid = pids.get(scenario.key);
        const cpuBefore = pid === undefined ? 0 : cpuTimeMs(pid);
        const measured = await load.measure(`http://127.0.0.1:${ports.get(scenario.key)}${size.path}`, {
          connections: options.connections,
          durationS: options.durationS,
        });
        const cpuMs = pid === undefined ? Number.NaN : cpuTimeMs(pid) - cpuBefore;
        const measurement = { ...measured, cpuUs: measured.requests > 0 ? (cpuMs * 1000) / measured.requests : Number.NaN };
        const bySize = raw.get(size.key) ?? new Map<string, (Measurement & { cpuUs: number })[]>();
        raw.set(size.key, bySize);
        bySize.set(scenario.key, [...(bySize.get(scenario.key) ?? []), measurement]);
        options.log(
          `round ${round + 1}/${options.rounds} ${size.key} ${scenario.key}: ${Math.round(measurement.rps)} req/s, p99 ${measurement.p99.toFixed(2)} ms, ${measurement.cpuUs.toFixed(0)} µs CPU/request${measurement.errors ? `, ${measurement.errors} errors` : ''}`,
        );
      }
    }
  }
  const results = new Map<SizeKey, Map<string, Result>>();
  for (const [size, bySize] of raw) {
    const summary = new Map<string, Result>();
    for (const [key, list] of bySize) {
      const rps = list.map((m) => m.rps);
      summary.set(key, {
        rps: median(rps),
        p99: median(list.map((m) => m.p99)),
        errors: list.reduce((sum, m) => sum + m.errors, 0),
        low: Math.min(...rps),
        high: Math.max(...rps),
        cpuUs: median(list.map((m) => m.cpuUs)),
        rounds: rps,
      });
    }
    results.set(size, summary);
  }
  return results;
}
