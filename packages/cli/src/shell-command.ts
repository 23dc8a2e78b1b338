import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Options of runShellCommand. */
export interface ShellCommandOptions {
  /** Aborting kills the command's whole process group (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
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
    env: { ...process.env, ...options.env },
  });
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

/** `exited with code 3` / `was killed by SIGKILL`, for messages. */
export function describeExit(result: ShellCommandResult): string {
  return result.exitCode !== null ? `exited with code ${result.exitCode}` : `was killed by ${result.signal ?? 'a signal'}`;
}
