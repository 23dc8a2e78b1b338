import type { FlipReport } from './flips';
import { median } from './load';
import type { MemoryReport } from './memory';
import { type Result, SIZES, type SizeKey } from './throughput';

/** Everything one run found, and how it was made. */
export interface RunReport {
  readonly started: Date;
  readonly command: string;
  readonly machine: Readonly<Record<'cpu' | 'memory' | 'node' | 'nginx' | 'load' | 'loadAverage', string>>;
  readonly note: string | undefined;
  readonly notes: readonly string[];
  readonly settings: { rounds: number; durationS: number; connections: number; flips: number };
  readonly throughput: Map<SizeKey, Map<string, Result>> | undefined;
  readonly flips: FlipReport | undefined;
  readonly memory: MemoryReport | undefined;
}

const LABELS: Record<string, string> = {
  direct: 'direct to the upstream (no proxy)',
  nginx: 'nginx, 1 worker, upstream keep-alive',
  'http-proxy': 'raw http-proxy, keep-alive agent',
  'koa-proxies': 'koa + koa-proxies, static target',
  'express-hpm': 'express + http-proxy-middleware, static target',
  serve: 'Switchyard serve: node:http + maintenance + proxy, target in Redis',
  'serve-proxy': 'Switchyard node:http, proxy only (maintenance not mounted)',
  'serve-cli': '`switchyard serve` CLI process as on main',
  koa: 'Switchyard Koa: koaMaintenance + koaProxy (examples/koa-front)',
  'koa-proxy': 'Switchyard Koa, koaProxy only',
  express: 'Switchyard Express: maintenance + proxy (examples/express-front)',
  'express-listen': "Switchyard Express as above, on app.listen's server",
  'express-bare': "Express alone, answering itself (no proxy), on app.listen's server",
  'mini-undici': 'engine choice: minimal forwarder, undici Pool',
  'mini-node-http': 'engine choice: minimal forwarder, node:http Agent',
  'mini-raw': 'engine choice: minimal forwarder, raw sockets, Content-Length only (a bound)',
};

const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}x` : '—');
const num = (n: number) => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');

function throughputTable(size: SizeKey, results: Map<string, Result>): string {
  const nginx = results.get('nginx')?.rps;
  const httpProxy = results.get('http-proxy')?.rps;
  const lines = [
    `### ${SIZES.find((s) => s.key === size)!.label}`,
    '',
    '| front | req/s (median) | min–max | p99 ms | vs nginx | vs raw http-proxy | CPU µs/request | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [key, result] of results) {
    lines.push(
      `| ${LABELS[key] ?? key} | ${num(result.rps)} | ${num(result.low)}–${num(result.high)} | ${result.p99.toFixed(2)} | ${ratio(result.rps, nginx)} | ${ratio(result.rps, httpProxy)} | ${result.cpuUs.toFixed(0)} | ${result.errors} |`,
    );
  }
  return lines.join('\n');
}

interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

/** The ratios of a's req/s to b's, round by round: fronts measured in the same round share the machine's state. */
function ratiosByRound(results: Map<string, Result> | undefined, a: string, b: string): number[] {
  const x = results?.get(a)?.rounds ?? [];
  const y = results?.get(b)?.rounds ?? [];
  return x.map((value, i) => value / (y[i] ?? Number.NaN)).filter(Number.isFinite);
}

/** The median of the ratios round by round, with their range. */
function roundRatios(results: Map<string, Result> | undefined, a: string, b: string): string {
  const ratios = ratiosByRound(results, a, b);
  if (ratios.length < 2) return 'one round';
  return `round by round ${median(ratios).toFixed(2)}x, ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
}

/** The cost (1 − ratio) round by round: its median and range, in %. */
function roundCosts(results: Map<string, Result> | undefined, withIt: string, without: string): string {
  const costs = ratiosByRound(results, withIt, without).map((ratio) => (1 - ratio) * 100);
  if (costs.length < 2) return 'one round';
  return `round by round ${median(costs).toFixed(1)}%, ${Math.min(...costs).toFixed(1)}% to ${Math.max(...costs).toFixed(1)}%`;
}

function ratioGoal(goal: string, results: Map<string, Result> | undefined, a: string, b: string, min: number): Goal {
  const x = results?.get(a)?.rps;
  const y = results?.get(b)?.rps;
  if (!x || !y) return { goal, measured: 'not measured', met: undefined };
  // CPU per request, inverted: how many requests the front serves for the peer's CPU time per request.
  const cpuA = results?.get(a)?.cpuUs;
  const cpuB = results?.get(b)?.cpuUs;
  const byCpu = cpuA && cpuB && Number.isFinite(cpuA / cpuB) ? `; by CPU per request ${(cpuB / cpuA).toFixed(2)}x` : '';
  return {
    goal,
    measured: `${(x / y).toFixed(2)}x (${num(x)} / ${num(y)} req/s; ${roundRatios(results, a, b)}${byCpu})`,
    met: x / y >= min,
  };
}

function p99Goal(size: SizeKey, results: Map<string, Result> | undefined, key: string): Goal {
  const goal = `p99 of ${LABELS[key]} ≤ raw http-proxy's, ${SIZES.find((s) => s.key === size)!.label}`;
  const mine = results?.get(key)?.p99;
  const theirs = results?.get('http-proxy')?.p99;
  if (mine === undefined || theirs === undefined) return { goal, measured: 'not measured', met: undefined };
  return { goal, measured: `${mine.toFixed(2)} ms vs ${theirs.toFixed(2)} ms`, met: mine <= theirs };
}

function costGoal(results: Map<string, Result> | undefined, withIt: string, without: string, label: string): Goal {
  const goal = `maintenance mounted but off costs < 3% (${label})`;
  const a = results?.get(withIt);
  const b = results?.get(without);
  if (!a || !b) return { goal, measured: 'not measured', met: undefined };
  const cost = 1 - a.rps / b.rps;
  const cpuCost = a.cpuUs / b.cpuUs - 1;
  const byCpu = Number.isFinite(cpuCost) ? `; by CPU per request ${(cpuCost * 100).toFixed(1)}%` : '';
  return {
    goal,
    measured: `${(cost * 100).toFixed(1)}% (${num(a.rps)} vs ${num(b.rps)} req/s; ${roundCosts(results, withIt, without)}; round spread ${num(b.low)}–${num(b.high)}${byCpu})`,
    met: cost < 0.03,
  };
}

/**
 * Next to the Express goals: the same front on the server `app.listen` makes (Express swaps each
 * request's prototypes; expressServerOptions not used) and Express alone, answering itself there.
 */
function withExpressVariants(goal: Goal, results: Map<string, Result> | undefined, what: 'rps' | 'p99'): Goal {
  if (goal.met === undefined) return goal;
  const peer = what === 'rps' ? results?.get('express-hpm') : results?.get('http-proxy');
  const variants: Array<[key: string, label: string]> = [
    ['express-listen', "on app.listen's server"],
    ['express-bare', 'Express alone, no proxy'],
  ];
  const notes = variants.flatMap(([key, label]) => {
    const found = results?.get(key);
    if (!found) return [];
    if (what === 'p99') return [`${label}: ${found.p99.toFixed(2)} ms`];
    return [`${label}: ${peer ? `${(found.rps / peer.rps).toFixed(2)}x the peer` : `${num(found.rps)} req/s`}`];
  });
  return notes.length === 0 ? goal : { ...goal, measured: `${goal.measured}; ${notes.join('; ')}` };
}

function goals(report: RunReport): Goal[] {
  const small = report.throughput?.get('small');
  const large = report.throughput?.get('large');
  const list: Goal[] = [
    ratioGoal('serve ≥ 0.4x nginx (100 B)', small, 'serve', 'nginx', 0.4),
    ratioGoal('serve ≥ 1.5x raw http-proxy (100 B)', small, 'serve', 'http-proxy', 1.5),
    ratioGoal('`switchyard serve` CLI as on main ≥ 0.4x nginx (100 B)', small, 'serve-cli', 'nginx', 0.4),
    ratioGoal('`switchyard serve` CLI as on main ≥ 1.5x raw http-proxy (100 B)', small, 'serve-cli', 'http-proxy', 1.5),
    ratioGoal('Koa middleware ≥ 1.2x koa + koa-proxies (100 B)', small, 'koa', 'koa-proxies', 1.2),
    withExpressVariants(
      ratioGoal('Express middleware ≥ 2x express + http-proxy-middleware (100 B)', small, 'express', 'express-hpm', 2),
      small,
      'rps',
    ),
  ];
  for (const [size, results] of [
    ['small', small],
    ['large', large],
  ] as const) {
    for (const key of ['serve', 'koa', 'express']) {
      const goal = p99Goal(size, results, key);
      list.push(key === 'express' ? withExpressVariants(goal, results, 'p99') : goal);
    }
  }
  list.push(costGoal(small, 'serve', 'serve-proxy', 'node:http'), costGoal(small, 'koa', 'koa-proxy', 'Koa'));
  for (const row of report.flips ?? []) {
    const bound = row.watchers >= 500 ? 50 : row.watchers >= 100 ? 10 : undefined;
    if (bound === undefined) continue;
    list.push({
      goal: `flip p99 < ${bound} ms at ${row.watchers} watchers`,
      measured: `${row.all.p99.toFixed(1)} ms until all applied (each front: ${row.each.p99.toFixed(1)} ms; bare watchers, the floor: ${row.bare.p99.toFixed(1)} ms; on ioredis: ${row.ioredis.p99.toFixed(1)} ms)`,
      met: row.all.p99 < bound && row.missed === 0,
    });
  }
  for (const goal of report.memory?.goals ?? []) list.push(goal);
  return list;
}

const mark = (met: boolean | undefined) => (met === undefined ? '—' : met ? 'met' : '**not met**');

/** The Markdown of bench/results.md. */
export function writeReport(report: RunReport): string {
  const { machine, settings } = report;
  const out: string[] = [
    '# Benchmark results',
    '',
    `Run ${report.started.toISOString()} with \`${report.command}\`.`,
    '',
    `Machine: ${machine.cpu}, ${machine.memory} RAM; Node ${machine.node}; nginx ${machine.nginx}; load generator ${machine.load}; load average at the end ${machine.loadAverage}.`,
    ...(report.note ? ['', report.note] : []),
    ...report.notes.map((note) => `\n${note}`),
    '',
    `Throughput: ${settings.rounds} interleaved rounds × ${settings.durationS} s per front and size, ${settings.connections} connections, 1 wrk thread; medians of the rounds. Every front proxies to the same upstream process (answers in microseconds), so the proxy hop is the whole cost.`,
    '',
    '## Goals (issue 9)',
    '',
    '| goal | measured | |',
    '|---|---|---|',
    ...goals(report).map((goal) => `| ${goal.goal} | ${goal.measured} | ${mark(goal.met)} |`),
    '',
  ];
  if (report.throughput) {
    out.push('## Throughput and latency', '');
    for (const [size, results] of report.throughput) out.push(throughputTable(size, results), '');
  }
  if (report.flips) {
    out.push(
      '## Flip propagation',
      '',
      `A bare \`SET switchyard:route:default\` from a plain client, timed until each front end (its watcher's \`change\` event) and the last of them applied it; ${settings.flips} flips per row, all front ends in one process, each with its own Redis connections and heartbeat. Bare watchers: one raw socket per watcher with the same tracking in-band (RESP3, as a front end's watch connection), one hand-written \`MGET\` per invalidation, no client code, validation or heartbeat; the floor of this layout on this machine. On ioredis: the same loop on two ioredis connections (a subscriber and a command connection), as front ends watched before their watch connection: what ioredis cost on this path. All three in alternating rounds. Redis CPU is over the front ends' rounds (start-up, heartbeats and flips).`,
      '',
      '| front ends | each: median | each: p99 | all applied: median | all: p99 | all: worst | bare watchers, all: median | bare: p99 | on ioredis: median | on ioredis: p99 | missed | start-up | Redis CPU | front ends’ Redis connections |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const row of report.flips) {
      out.push(
        `| ${row.watchers} | ${row.each.median.toFixed(2)} ms | ${row.each.p99.toFixed(2)} ms | ${row.all.median.toFixed(2)} ms | ${row.all.p99.toFixed(2)} ms | ${row.all.worst.toFixed(2)} ms | ${row.bare.median.toFixed(2)} ms | ${row.bare.p99.toFixed(2)} ms | ${row.ioredis.median.toFixed(2)} ms | ${row.ioredis.p99.toFixed(2)} ms | ${row.missed} | ${(row.startupMs / 1000).toFixed(1)} s | ${row.redisCpu.toFixed(0)}% | ${row.redisClients} |`,
      );
    }
    out.push('');
  }
  if (report.memory) out.push('## Memory', '', ...report.memory.lines, '');
  return `${out.join('\n')}\n`;
}
