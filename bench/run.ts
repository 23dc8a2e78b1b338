// Benchmarks Switchyard's front ends against peers started in the same run (nginx, raw http-proxy,
// koa + koa-proxies, express + http-proxy-middleware), flip propagation at scale and memory. See
// bench/README.md; results in bench/results.md.
//
//   npm run bench                      # the full run, writes bench/results.md
//   npm run bench -- --quick           # smoke run, under a minute, asserts nothing, writes nothing
//   npm run bench -- --rounds 5 --duration 3 --connections 50 --watchers 1,10,100,500 --flips 50
//   npm run bench -- --only throughput|flips|memory   --note "text for results.md"
//   npm run bench -- --only throughput --fronts http-proxy,serve --sizes small --out /tmp/r.md   # a focused comparison
//   npm run bench -- --only memory --host-seconds 30     # cap the random-Host case (default: a million requests or 180 s)
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisServer } from '../test/support/redis-server';
import { type FlipReport, measureFlips } from './lib/flips';
import { autocannonLoad, wrk, wrkVersion } from './lib/load';
import { type MemoryReport, measureMemory } from './lib/memory';
import { findNginx } from './lib/nginx';
import { startServer, stopAll } from './lib/processes';
import { writeReport } from './lib/report';
import { measureThroughput, type SizeKey, scenarios } from './lib/throughput';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '50' },
    watchers: { type: 'string' },
    flips: { type: 'string' },
    only: { type: 'string' },
    note: { type: 'string' },
    out: { type: 'string' },
    fronts: { type: 'string' },
    sizes: { type: 'string' },
    'host-seconds': { type: 'string' },
  },
});
const quick = values.quick ?? false;
const rounds = Number(values.rounds ?? (quick ? 1 : 5));
const durationS = Number(values.duration ?? (quick ? 1 : 3));
const connections = Number(values.connections);
const watcherCounts = (values.watchers ?? (quick ? '1,10' : '1,10,100,500')).split(',').map(Number);
const flips = Number(values.flips ?? (quick ? 5 : 50));
const parts = new Set((values.only ?? (quick ? 'throughput,flips' : 'throughput,flips,memory')).split(','));
const sizes = (values.sizes?.split(',') ?? (quick ? ['small'] : ['small', 'large'])) as SizeKey[];
if (sizes.some((size) => size !== 'small' && size !== 'large')) {
  process.stderr.write('--sizes takes small, large or both (small,large)\n');
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const started = new Date();
  const load = wrkVersion() ? wrk : autocannonLoad;
  const notes: string[] = [];
  if (load !== wrk) notes.push('wrk is not installed (Debian: `apt-get install wrk`): autocannon measured instead, in the bench process.');
  const redis = await RedisServer.start();
  let throughput: Awaited<ReturnType<typeof measureThroughput>> | undefined;
  let flipReport: FlipReport | undefined;
  let memory: MemoryReport | undefined;
  try {
    const upstream = await startServer('bench/servers/upstream.ts', []);
    const fronts = values.fronts?.split(',');
    const list = (await scenarios(upstream, redis.url, notes)).filter((scenario) => !fronts || fronts.includes(scenario.key));
    if (parts.has('throughput')) {
      log(`throughput: ${list.length} fronts, ${rounds} rounds × ${durationS} s, ${connections} connections, ${load.name}`);
      throughput = await measureThroughput(list, load, { rounds, durationS, connections, sizes, log });
    }
    await stopAll();
    if (parts.has('flips')) {
      log(`flip propagation: ${watcherCounts.join(', ')} watchers, ${flips} flips each`);
      flipReport = await measureFlips(redis, watcherCounts, flips, log);
    }
    if (parts.has('memory')) {
      log('memory');
      memory = await measureMemory(redis, load, {
        quick,
        log,
        ...(values['host-seconds'] ? { hostSeconds: Number(values['host-seconds']) } : {}),
      });
    }
  } finally {
    await stopAll();
    await redis.stop();
  }
  const args = process.argv.slice(2).map((arg) => (/[\s'"]/.test(arg) ? `'${arg.replace(/'/g, '’')}'` : arg));
  const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  const machine = {
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GB`,
    node: process.version,
    nginx: findNginx()?.version ?? 'not installed',
    load: load === wrk ? (wrkVersion() ?? 'wrk') : load.name,
    loadAverage: loadavg()
      .map((n) => n.toFixed(2))
      .join(' '),
  };
  const report = writeReport({
    started,
    command,
    machine,
    note: values.note,
    notes,
    settings: { rounds, durationS, connections, flips },
    throughput,
    flips: flipReport,
    memory,
  });
  process.stdout.write(report);
  if (!quick && (!values.fronts || values.out)) {
    const out = values.out ?? join(__dirname, 'results.md');
    require('node:fs').writeFileSync(out, report);
    // The repository's formatter pads Markdown tables; the file is committed as it would leave it.
    try {
      require('node:child_process').execFileSync('npx', ['biome', 'format', '--write', out], { stdio: 'ignore', timeout: 60_000 });
    } catch {
      log('biome could not format the report; run `npx biome check --write bench/results.md`');
    }
    log(`written to ${out}`);
  }
}

main().then(
  () => process.exit(0),
  async (error: Error) => {
    log(`bench failed: ${error.stack ?? error.message}`);
    await stopAll();
    process.exit(1);
  },
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().then(() => process.exit(130));
  });
}
