import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { sleep } from './sleep';

/** Options of runShellCommand. */
export interface ShellCommandOptions {
  /** Aborting kills the command's whole process group (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  /** Extra environment variables for the command (on top of `commandEnvironment()`). */
  env?: Record<string, string>;
  /** Called with the pid of the shell once it runs; it leads the command's process group (pgid = pid). */
  onSpawn?: (pid: number) => void;
  /** Called with every line the command prints. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How long a killed command gets to exit before SIGKILL. Default 3000 ms. */
  killGraceMs?: number;
}

/** How a shell command ended. */
export interface ShellCommandResult {
  /** The exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * Runs `command` with `/bin/sh -c` in its own process group, streaming its output line by line.
 * Its own group means Ctrl-C reaches only the CLI, which then stops the whole command tree (a
 * `pg_dump | psql` pipeline included) before cleaning up. Rejects with the signal's reason when aborted.
 */
export function runShellCommand(command: string, options: ShellCommandOptions = {}): Promise<ShellCommandResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const child = spawn('/bin/sh', ['-c', command], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...commandEnvironment(), ...options.env },
  });
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  const streams = [
    ['stdout', child.stdout],
    ['stderr', child.stderr],
  ] as const;
  const drained = streams.map(([name, stream]) => {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => options.onLine?.(line, name));
    return new Promise<void>((resolve) => lines.once('close', resolve));
  });
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = (name: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, name);
    } catch {
      // The group is already gone.
    }
  };
  const onAbort = () => {
    killGroup('SIGTERM');
    killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? 3000);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.once('exit', (exitCode, exitSignal) => {
      // A background grandchild may hold the pipes open forever; its output is not worth waiting for.
      const drainTimer = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
      void Promise.race([Promise.all(drained), drainTimer]).then(() => {
        signal?.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        if (signal?.aborted) reject(signal.reason);
        else resolve({ exitCode, signal: exitSignal });
      });
    });
  });
}

/**
 * The environment a user's command gets: this process's, minus every `SWITCHYARD_*` variable.
 * Those configure Switchyard itself and `SWITCHYARD_REDIS_URL` carries the Redis password: a sync
 * script, its logs or whatever it starts must not see it. (The command's own variables, e.g.
 * `PGPASSWORD`, pass through: the user set them for it.) Redis URLs given with `--redis` never
 * reach a command either: they are in the CLI's arguments, not its environment.
 */
export function commandEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(base).filter(([name]) => !name.startsWith('SWITCHYARD_')));
}

/** `exited with code 3` / `was killed by SIGKILL`, for messages. */
export function describeExit(result: ShellCommandResult): string {
  return result.exitCode !== null ? `exited with code ${result.exitCode}` : `was killed by ${result.signal ?? 'a signal'}`;
}

/** A command's process group as the journal keeps it, so another process can stop it. */
export interface ProcessGroupRecord {
  /** The group id: the pid of the shell that leads it. */
  readonly pgid: number;
  /** The leader's start time (Linux `/proc/<pid>/stat`), so a recycled pid is never mistaken for it. */
  readonly startTime?: string;
}

/** What stopProcessGroup found. */
export type StopOutcome = 'gone' | 'stopped' | 'not ours' | 'still running';

/** The record of a process group led by `pid` (just spawned). */
export function processGroupRecord(pid: number): ProcessGroupRecord {
  const startTime = processStartTime(pid);
  return startTime === undefined ? { pgid: pid } : { pgid: pid, startTime };
}

/**
 * Stops a command's process group left behind by a process that died (SIGKILL, a crash): SIGTERM,
 * then SIGKILL after `graceMs`, waiting (bounded) until no process of the group is left. A group
 * whose leader now has another start time is someone else's (the pid was recycled) and is left alone.
 */
export async function stopProcessGroup(group: ProcessGroupRecord, { graceMs = 3000 } = {}): Promise<StopOutcome> {
  const leaderStart = processStartTime(group.pgid);
  if (leaderStart !== undefined && group.startTime !== undefined && leaderStart !== group.startTime) return 'not ours';
  if (!signalGroup(group.pgid, 0)) return 'gone';
  signalGroup(group.pgid, 'SIGTERM');
  if (await groupGone(group.pgid, graceMs)) return 'stopped';
  signalGroup(group.pgid, 'SIGKILL');
  return (await groupGone(group.pgid, 1000)) ? 'stopped' : 'still running';
}

/** Sends a signal to a whole group; false when no process of it is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (signalGroup(pgid, 0)) {
    if (performance.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Field 22 of `/proc/<pid>/stat` (clock ticks since boot); undefined when there is no such process or no /proc. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
