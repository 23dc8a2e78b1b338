// Profiles one front end under load: starts the upstream and the front with --cpu-prof, drives it
// with wrk for a few seconds, stops it and prints where its CPU time went (self time by function
// and by package). How the serve-versus-koa-front question of issue 9 was answered (bench/README.md).
//
//   npm run bench:profile -- serve            # a mode of bench/servers/front.ts
//   npm run bench:profile -- cli              # the `switchyard serve` CLI as on this checkout
//   npm run bench:profile -- mini-undici      # a minimal forwarder of bench/servers/minimal.ts (mini-node-http too)
//   npm run bench:profile -- koa --duration 5 --top 25
//   npm run bench:profile -- cli+NODE_OPTIONS=--max-semi-space-size=32 --instructions   # a spec as bench:ab takes it
//   npm run bench:profile -- express --alloc  # bytes allocated per request instead, by package and function
//   npm run bench:profile -- express --instructions [--warm 4000 --requests 2000]   # instructions per request (valgrind)
import { execFileSync } from 'node:child_process';
import { on } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisServer } from '../test/support/redis-server';
import { sendRequests, wrk } from './lib/load';
import { frontSpec, runMain, type Started, startServer, stop, stopAll } from './lib/processes';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: 'string', default: '5' },
    top: { type: 'string', default: '20' },
    path: { type: 'string', default: '/' },
    alloc: { type: 'boolean', default: false },
    instructions: { type: 'boolean', default: false },
    warm: { type: 'string', default: '4000' },
    requests: { type: 'string', default: '2000' },
  },
});
const mode = positionals[0] ?? 'serve';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** The package a profile's frame belongs to: node_modules/<name>, node:internal…, the repo's packages. */
function packageOf(url: string, functionName: string): string {
  const where = url.replace(/^file:\/\//, '');
  return (
    /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ??
    /\/packages\/([^/]+)\//.exec(where)?.[1] ??
    (where.startsWith('node:') ? where : where ? 'other' : functionName || '(native)')
  );
}

/** `name file:line` of a profile's frame. */
function frameName(url: string, functionName: string, lineNumber: number): string {
  return `${functionName || '(anonymous)'} ${url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/')}:${lineNumber + 1}`;
}

/** Lines of a top list: share or amount, then the name. */
function ranked(title: string, totals: Map<string, number>, top: number, format: (n: number) => string): string[] {
  const lines = [title];
  for (const [name, amount] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${format(amount)}  ${name}`);
  return lines;
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
    const pkg = packageOf(url, functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time);
    const name = frameName(url, functionName, lineNumber);
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  }
  const pct = (n: number) => `${((n / total) * 100).toFixed(1).padStart(5)}%`;
  return [...ranked('self time by package:', byPackage, 15, pct), ...ranked('self time by function:', byFunction, top, pct)].join('\n');
}

interface AllocationNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocationNode[];
}

/** Bytes allocated per request by package and by function, from the sampling heap profile. */
function summarizeAllocations(file: string, requests: number, top: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { head: AllocationNode };
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  const visit = (node: AllocationNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    total += node.selfSize;
    const pkg = packageOf(url, functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.selfSize);
    const name = frameName(url, functionName, lineNumber);
    byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  const perRequest = (n: number) => `${String(Math.round(n / requests)).padStart(6)} B`;
  return [
    `allocated per request (sampled): ${Math.round(total / requests)} bytes over ${requests} requests`,
    ...ranked('by package:', byPackage, 15, perRequest),
    ...ranked('by function:', byFunction, top, perRequest),
  ].join('\n');
}

/** The total a callgrind dump file gives, once it has been written (undefined until then). */
function dumpTotal(file: string): number | undefined {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const total = /^(?:summary|totals):\s+(\d+)/m.exec(text)?.[1];
  return total === undefined ? undefined : Number(total);
}

/** Inclusive instructions of the functions whose names match, in one dump file (callgrind_annotate). */
function inclusiveOf(file: string, name: RegExp): number {
  const text = execFileSync('callgrind_annotate', ['--inclusive=yes', file], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  let largest = 0;
  for (const line of text.split('\n')) {
    const match = /^\s*([\d,]+)\s.*?:(\S+)\(/.exec(line);
    if (match && name.test(match[2]!)) largest = Math.max(largest, Number(match[1]!.replace(/,/g, '')));
  }
  return largest;
}

/**
 * Instructions in dump part 1 (from the zeroing to the dump), thread by thread (--separate-threads):
 * the main thread, where the requests run, apart from V8's background threads. Their optimizing
 * compiler's share swings from run to run (a 64 KB run: 33–87 k instructions per request), and with
 * it the total; the main thread's count repeats within a few percent.
 */
async function dumpedInstructions(dir: string, base: string, front: Started): Promise<{ main: number; compile: number; other: number }> {
  const mainFile = join(dir, `${base}.1-01`);
  const deadline = Date.now() + 60_000;
  while (dumpTotal(mainFile) === undefined) {
    if (Date.now() > deadline) throw new Error(`callgrind wrote no totals to ${mainFile} within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop(front.child); // every thread's part 1 is on disk once the process has exited
  let compile = 0;
  let other = 0;
  for (const name of readdirSync(dir).filter((file) => file.startsWith(`${base}.1-`) && file !== `${base}.1-01`)) {
    const total = dumpTotal(join(dir, name)) ?? 0;
    if (total === 0) continue;
    const compiling = inclusiveOf(join(dir, name), /OptimizingCompileDispatcher::CompileTask::RunInternal/);
    compile += compiling;
    other += total - compiling;
  }
  return { main: dumpTotal(mainFile)!, compile, other };
}

function hasValgrind(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'pipe', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  if (values.alloc && values.instructions) {
    process.stderr.write('bench:profile: --alloc and --instructions measure in different runs; choose one\n');
    process.exit(2);
  }
  if (values.instructions && !hasValgrind()) {
    process.stdout.write('valgrind is not installed (apt-get install valgrind): no instructions counted\n');
    return;
  }
  const redis = await RedisServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-profile-'));
  try {
    const upstream = await startServer('bench/servers/upstream.ts', []);
    const target = `http://127.0.0.1:${upstream.port}`;
    await redis.cli.set('switchyard:route:default', target); // the CLI's route; the other fronts take it as an argument
    const env = { SWITCHYARD_REDIS_URL: redis.url };
    const allocationFile = join(dir, 'allocations.heapprofile');
    const profiling = values.instructions
      ? []
      : values.alloc
        ? ['--require', join(__dirname, '.build', 'allocation-sampler.js')]
        : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
    if (values.alloc) Object.assign(env, { SWITCHYARD_ALLOCATION_PROFILE: allocationFile });
    // Under valgrind node starts in about a minute and runs 50–300 times slower.
    const launcher = values.instructions
      ? ['valgrind', '-q', '--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'callgrind.out')}`]
      : [];
    const startMs = values.instructions ? 600_000 : 30_000;
    const server = frontSpec(mode, target);
    const front = await startServer(server.entry, server.args, { ...env, ...server.env }, profiling, startMs, launcher);
    const url = `http://127.0.0.1:${front.port}${values.path}`;
    if (values.instructions) {
      // Counted between a zeroing after the warm-up (the JIT has compiled the request path) and a dump:
      // instructions do not move with the host's speed. The main thread's repeat within a few percent;
      // V8's background threads (still compiling, marking) are reported apart, as they swing.
      const [warm, requests] = [Number(values.warm), Number(values.requests)];
      const pid = String(front.child.pid);
      await sendRequests(url, warm);
      execFileSync('callgrind_control', ['-z', pid], { stdio: 'pipe', timeout: 120_000 });
      await sendRequests(url, requests);
      execFileSync('callgrind_control', ['-d', pid], { stdio: 'pipe', timeout: 120_000 });
      const counted = await dumpedInstructions(dir, 'callgrind.out', front);
      const k = (n: number) => `${Math.round(n / requests / 1000)} k`;
      process.stdout.write(
        `${mode}: ${k(counted.main)} instructions per request on the main thread; V8's background threads ${k(counted.compile)} compiling, ${k(counted.other)} else (GC) ` +
          `(callgrind, user space; the kernel's share is not counted), over ${requests} requests after ${warm} to warm up\n`,
      );
      return;
    }
    await wrk.measure(url, { connections: 50, durationS: 1 });
    if (values.alloc) {
      // Sampling starts after the warm-up, so start-up and compilation are not counted.
      const replies = on(front.child, 'message', { signal: AbortSignal.timeout(5000) });
      front.child.send({ type: 'sample-allocations' });
      for await (const [message] of replies) if ((message as { type?: string }).type === 'sampling-allocations') break;
    }
    const result = await wrk.measure(url, { connections: 50, durationS: Number(values.duration) });
    await stop(front.child);
    process.stdout.write(`${mode}: ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(2)} ms\n`);
    if (values.alloc) {
      process.stdout.write(`${summarizeAllocations(allocationFile, result.requests, Number(values.top))}\n(profile: ${allocationFile})\n`);
      return;
    }
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    process.stdout.write(
      file ? `${summarize(join(dir, file), Number(values.top))}\n(profile: ${join(dir, file)})\n` : 'no profile written\n',
    );
  } finally {
    await stopAll();
    await redis.stop();
  }
}

runMain(main);
