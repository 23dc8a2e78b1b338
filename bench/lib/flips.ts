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
  /**
   * The same flips with bare watchers (one raw socket each with the same tracking in-band, one
   * hand-written MGET per invalidation; no client code, validation or heartbeat): the floor of this
   * layout on this machine, in the same run, in alternating rounds with the front ends. Until all applied (ms).
   */
  readonly bare: { readonly median: number; readonly p99: number };
  /** The bare watchers' loop on two ioredis connections, as front ends watched before: what ioredis cost on this path. Until all applied (ms). */
  readonly ioredis: { readonly median: number; readonly p99: number };
  /** Front ends that had not applied a flip 5 s after it. */
  readonly missed: number;
  readonly startupMs: number;
  /** Redis CPU (user + sys) during the flips, in % of one core. */
  readonly redisCpu: number;
  /** Redis connections of the front ends (ioredis's command connection and the watch connection), all of them. */
  readonly redisClients: number;
}

export type FlipReport = FlipRow[];

async function redisInfo(redis: RedisServer): Promise<{ cpu: number; clients: number }> {
  const info = await redis.cli.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return { cpu: field('used_cpu_user') + field('used_cpu_sys'), clients: field('connected_clients') };
}

type Kind = 'switchyard' | 'ioredis' | 'bare';

function runWatchers(
  redis: RedisServer,
  count: number,
  flips: number,
  kind: Kind,
): Promise<{ startupMs: number; flips: number[][]; missed: number; clients: number }> {
  buildServers();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(__dirname, '..', '..', serverPath('bench/servers/watchers.ts')), redis.url, String(count), String(flips), kind],
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

/** Until all applied, per flip: the slowest front end of each flip every front end applied. */
function allApplied(flips: number[][], watchers: number): number[] {
  return flips.filter((times) => times.length === watchers).map((times) => Math.max(...times));
}

/**
 * Runs the flips at each scale, each in fresh processes: front ends, bare watchers and bare watchers
 * on ioredis in alternating rounds (ABCCBA, half the flips each), so the host's drift falls on all.
 * Redis's CPU and connections are the front ends' rounds only.
 */
export async function measureFlips(
  redis: RedisServer,
  counts: readonly number[],
  flips: number,
  log: (line: string) => void,
): Promise<FlipReport> {
  const rows: FlipRow[] = [];
  const half = Math.max(1, Math.ceil(flips / 2));
  for (const watchers of counts) {
    const fronts: number[][] = [];
    const bare: number[][] = [];
    const client: number[][] = [];
    let missed = 0;
    let startupMs = 0;
    let clients = 0;
    let cpuS = 0;
    let wallMs = 0;
    for (const kind of ['switchyard', 'ioredis', 'bare', 'bare', 'ioredis', 'switchyard'] as const) {
      if (kind !== 'switchyard') {
        (kind === 'bare' ? bare : client).push(...(await runWatchers(redis, watchers, half, kind)).flips);
        continue;
      }
      const before = await redisInfo(redis);
      const wallStart = Date.now();
      const result = await runWatchers(redis, watchers, half, kind);
      const after = await redisInfo(redis);
      cpuS += after.cpu - before.cpu;
      wallMs += Date.now() - wallStart;
      fronts.push(...result.flips);
      missed += result.missed;
      startupMs = Math.max(startupMs, result.startupMs);
      // The front ends' own: minus the bench's client and the flipping one.
      clients = result.clients - 2;
    }
    const each = fronts.flat();
    const all = allApplied(fronts, watchers);
    const floor = allApplied(bare, watchers);
    const library = allApplied(client, watchers);
    const row: FlipRow = {
      watchers,
      flips: fronts.length,
      each: { median: median(each), p99: percentile(each, 99) },
      all: { median: median(all), p99: percentile(all, 99), worst: Math.max(...all) },
      bare: { median: median(floor), p99: percentile(floor, 99) },
      ioredis: { median: median(library), p99: percentile(library, 99) },
      missed,
      startupMs,
      redisCpu: (cpuS * 1000 * 100) / wallMs,
      redisClients: clients,
    };
    log(
      `${watchers} watchers: each p99 ${row.each.p99.toFixed(2)} ms, all p99 ${row.all.p99.toFixed(2)} ms (bare watchers ${row.bare.p99.toFixed(2)} ms, on ioredis ${row.ioredis.p99.toFixed(2)} ms), missed ${row.missed}, Redis ${row.redisCpu.toFixed(0)}% CPU, ${row.redisClients} clients`,
    );
    rows.push(row);
  }
  return rows;
}
