import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** A server started by the bench, with the port it listens on. */
export interface Started {
  readonly child: ChildProcess;
  readonly port: number;
}

const children = new Set<ChildProcess>();
const root = join(__dirname, '..', '..');

let built = false;

/**
 * Compiles the bench servers (bench/servers/*.ts → bench/.build/*.js) and Switchyard's packages
 * (`tsc -b`, their `dist`), once per run. Every measured process then runs plain JavaScript on plain
 * `node`, as in production: under the TypeScript loader each closure Switchyard creates per request
 * would pay for a `__name` call the peers (plain JavaScript in node_modules) do not.
 */
export function buildServers(): void {
  if (built) return;
  execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit', timeout: 300_000 });
  execFileSync('npx', ['tsc', '-p', join(root, 'bench', 'tsconfig.json')], { cwd: root, stdio: 'inherit', timeout: 300_000 });
  built = true;
}

/** The compiled path of a bench server (`bench/servers/x.ts` → `bench/.build/x.js`); other paths (absolute ones: another checkout's) as given. */
export function serverPath(entry: string): string {
  if (isAbsolute(entry)) return entry;
  const match = /^bench\/servers\/(.+)\.ts$/.exec(entry);
  return match ? join('bench', '.build', `${match[1]}.js`) : entry;
}

/**
 * The server entry and arguments of a front named as in the full run: `cli` (the `switchyard serve`
 * CLI), `mini-undici`/`mini-node-http` (the engine-choice forwarders of bench/servers/minimal.ts,
 * always this checkout's) or a mode of bench/servers/front.ts. With `checkout`, the CLI and the fronts
 * come from that other, built checkout.
 */
export function frontServer(mode: string, target: string, checkout?: string): { entry: string; args: string[] } {
  if (mode === 'cli') {
    const entry = 'packages/cli/bin/switchyard.js';
    return { entry: checkout ? join(checkout, entry) : entry, args: ['serve', '--port', '0', '--host', '127.0.0.1', '--json'] };
  }
  if (mode.startsWith('mini-')) return { entry: 'bench/servers/minimal.ts', args: [mode.slice('mini-'.length), target] };
  return { entry: checkout ? join(checkout, 'bench', '.build', 'front.js') : 'bench/servers/front.ts', args: [mode, target] };
}

/**
 * A front named on a command line, `[<checkout>:]<mode>[+NAME=value…]`: a mode as in frontServer,
 * from this checkout or another built one, with extra environment variables (`cli+NODE_OPTIONS=…`).
 * `bench:ab` and `bench:profile` both take it.
 */
export function frontSpec(spec: string, target: string): { entry: string; args: string[]; env: Record<string, string> } {
  const [front = '', ...variables] = spec.split('+');
  const colon = front.lastIndexOf(':');
  const checkout = colon === -1 ? undefined : resolve(front.slice(0, colon));
  const env: Record<string, string> = {};
  for (const variable of variables) {
    const equals = variable.indexOf('=');
    if (equals <= 0) throw new Error(`${spec}: "${variable}" is not NAME=value`);
    env[variable.slice(0, equals)] = variable.slice(equals + 1);
  }
  return { ...frontServer(front.slice(colon + 1), target, checkout), env };
}

/**
 * Starts a bench server (compiled, see buildServers) or a JavaScript entry (path from the repository root) and resolves with the port from the
 * first line of its stdout that carries one (`{"port":…}` or the CLI's `{"type":"listening","port":…}`).
 * Fails after `timeoutMs`, so a server that never listens cannot hang the bench.
 */
export async function startServer(
  entry: string,
  args: readonly string[],
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
  timeoutMs = 30_000,
  /** A command that runs node, e.g. `['valgrind', '--tool=callgrind']`; none by default. */
  launcher: readonly string[] = [],
): Promise<Started> {
  buildServers();
  const path = serverPath(entry);
  const command = [...launcher, process.execPath, ...nodeArgs, isAbsolute(path) ? path : join(root, path), ...args];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'warn', ...env },
  });
  track(child);
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} ${args.join(' ')} did not listen within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`${entry} ${args.join(' ')} exited with ${code} before listening`)));
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { port?: number };
        if (typeof parsed.port === 'number') {
          clearTimeout(timer);
          resolve(parsed.port);
        }
      } catch {
        // not a JSON line
      }
    });
  });
  return { child, port };
}

/** Kills the child with the bench (and on Ctrl-C). */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Stops one child and waits for it to exit (SIGKILL after 3 s). */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Stops every child the bench started. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stop));
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/**
 * CPU time (user + system, ms) a process and its descendants have used so far, from /proc (Linux; 0
 * elsewhere). Per request, it is the measure a shared machine disturbs least: other load steals
 * throughput, not the work each request takes.
 */
export function cpuTimeMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let total = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) total += cpuTimeMs(Number(child));
    }
    return total;
  } catch {
    return 0;
  }
}

/** Peak and current resident memory of a process, from /proc (Linux), in bytes. */
export function residentMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Runs a bench script's `main` (which stops what it started): exit 0 when it resolves, its stack and exit 1 when it throws. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`${error.stack}\n`);
      process.exit(1);
    },
  );
}
