// Profiles one front end under load: starts the upstream and the front with --cpu-prof, drives it
// with wrk for a few seconds, stops it and prints where its CPU time went (self time by function
// and by package). How the serve-versus-koa-front question of issue 9 was answered (bench/README.md).
//
//   npm run bench:profile -- serve            # a mode of bench/servers/front.ts
//   npm run bench:profile -- cli              # the `switchyard serve` CLI as on this checkout
//   npm run bench:profile -- koa --duration 5 --top 25
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisServer } from '../test/support/redis-server';
import { wrk } from './lib/load';
import { runMain, startServer, stop, stopAll } from './lib/processes';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { duration: { type: 'string', default: '5' }, top: { type: 'string', default: '20' }, path: { type: 'string', default: '/' } },
});
const mode = positionals[0] ?? 'serve';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self time per function and per package (node_modules/<name>, node:internal, the repo's packages). */
function summarize(file: string, top: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, time] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url.replace(/^file:\/\//, '');
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ??
      /\/packages\/([^/]+)\//.exec(where)?.[1] ??
      (where.startsWith('node:') ? where : where ? 'other' : functionName || '(native)');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time);
    const name = `${functionName || '(anonymous)'} ${where.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  }
  const pct = (n: number) => `${((n / total) * 100).toFixed(1).padStart(5)}%`;
  const lines = ['self time by package:'];
  for (const [name, time] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`  ${pct(time)}  ${name}`);
  lines.push('self time by function:');
  for (const [name, time] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(time)}  ${name}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-profile-'));
  try {
    const upstream = await startServer('bench/servers/upstream.ts', []);
    const target = `http://127.0.0.1:${upstream.port}`;
    const env = { SWITCHYARD_REDIS_URL: redis.url };
    const profiling = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
    const front =
      mode === 'cli'
        ? await startServer('packages/cli/bin/switchyard.js', ['serve', '--port', '0', '--host', '127.0.0.1', '--json'], env, profiling)
        : await startServer('bench/servers/front.ts', [mode, target], env, profiling);
    if (mode === 'cli') await redis.cli.set('switchyard:route:default', target);
    const url = `http://127.0.0.1:${front.port}${values.path}`;
    await wrk.measure(url, { connections: 50, durationS: 1 });
    const result = await wrk.measure(url, { connections: 50, durationS: Number(values.duration) });
    await stop(front.child);
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    process.stdout.write(`${mode}: ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(2)} ms\n`);
    process.stdout.write(
      file ? `${summarize(join(dir, file), Number(values.top))}\n(profile: ${join(dir, file)})\n` : 'no profile written\n',
    );
  } finally {
    await stopAll();
    await redis.stop();
  }
}

runMain(main);
