import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { RedisServer } from '../../test/support/redis-server';
import { median, percentile } from './load';
import { buildServers, serverPath, track } from './processes';

/** Flip propagation at one scale. */
export interface FlipRow {
  readonly watchers: number;
  readonly flips: number;
  /** Time from the bare SET to one front end applying it, over every front end and flip (ms). */
  readonly each: { readonly median: number; readonly p99: number };
  /** Time from the bare SET until the last front end applied it, per flip (ms). */
  readonly all: { readonly median: number; readonly p99: number; readonly worst: number };
  /** Front ends that had not applied a flip 5 s after it. */
  readonly missed: number;
  readonly startupMs: number;
  /** Redis CPU (user + sys) during the flips, in % of one core. */
  readonly redisCpu: number;
  /** Redis connections of the front ends (watcher, invalidation subscriber, …), all of them. */
  readonly redisClients: number;
}

export type FlipReport = FlipRow[];

async function redisInfo(redis: RedisServer): Promise<{ cpu: number; clients: number }> {
  const info = await redis.cli.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return { cpu: field('used_cpu_user') + field('used_cpu_sys'), clients: field('connected_clients') };
}

function runWatchers(
  redis: RedisServer,
  count: number,
  flips: number,
): Promise<{ startupMs: number; flips: number[][]; missed: number; clients: number }> {
  buildServers();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(__dirname, '..', '..', serverPath('bench/servers/watchers.ts')), redis.url, String(count), String(flips)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'warn' },
      },
    );
    track(child);
    let out = '';
    let clients = Number.NaN;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('"ready":true') && Number.isNaN(clients)) {
        clients = 0;
        void redisInfo(redis).then((info) => {
          clients = info.clients;
          child.stdin.write('go\n');
        });
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      try {
        resolve({ ...JSON.parse(out.trim().split('\n').at(-1) ?? ''), clients });
      } catch {
        reject(new Error(`watchers ${count} exited with ${code} without a result`));
      }
    });
  });
}

/** Runs the flips at each scale, each in a fresh process, noting Redis's CPU and connections. */
export async function measureFlips(
  redis: RedisServer,
  counts: readonly number[],
  flips: number,
  log: (line: string) => void,
): Promise<FlipReport> {
  const rows: FlipRow[] = [];
  for (const watchers of counts) {
    const before = await redisInfo(redis);
    const wallStart = Date.now();
    const result = await runWatchers(redis, watchers, flips);
    const after = await redisInfo(redis);
    const each = result.flips.flat();
    const all = result.flips.filter((times) => times.length === watchers).map((times) => Math.max(...times));
    const row: FlipRow = {
      watchers,
      flips,
      each: { median: median(each), p99: percentile(each, 99) },
      all: { median: median(all), p99: percentile(all, 99), worst: Math.max(...all) },
      missed: result.missed,
      startupMs: result.startupMs,
      redisCpu: ((after.cpu - before.cpu) * 1000 * 100) / (Date.now() - wallStart),
      // The front ends' own: minus the bench's client and the flipping one.
      redisClients: result.clients - 2,
    };
    log(
      `${watchers} watchers: each p99 ${row.each.p99.toFixed(2)} ms, all p99 ${row.all.p99.toFixed(2)} ms, missed ${row.missed}, Redis ${row.redisCpu.toFixed(0)}% CPU, ${row.redisClients} clients`,
    );
    rows.push(row);
  }
  return rows;
}
