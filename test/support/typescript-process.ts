import { type ChildProcess, spawn } from 'node:child_process';
import { basename, join } from 'node:path';

/** How a child process ended and everything it printed. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A TypeScript entry point running in its own node process: its output so far, and ways to wait for more. */
export interface TypeScriptProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout or stderr matches `pattern`; fails as soon as the process exits without printing it. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the process has exited and its output is read; rejects if it could not start or was killed by `killAfterMs`. */
  readonly exited: Promise<ProcessExit>;
  /** Sends `signal` (SIGTERM unless given) unless the process has already exited, then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<ProcessExit>;
}

/** Options of startTypeScriptProcess(). */
export interface TypeScriptProcessOptions {
  /** Merged over process.env; `undefined` removes an inherited variable. */
  env?: Record<string, string | undefined>;
  /** SIGKILL the process if it is still running after this long, and reject `exited` with its output. */
  killAfterMs?: number;
  /** What to call the process in error messages; the file name unless given. */
  name?: string;
}

/** The repository root, where `npm test` and the root scripts run. */
export const repositoryRoot = join(__dirname, '..', '..');

/** Starts `node --conditions=switchyard-source --import tsx <file> ...args` in the repository root, so the child runs the TypeScript sources as the tests do. */
export function startTypeScriptProcess(
  file: string,
  args: readonly string[] = [],
  options: TypeScriptProcessOptions = {},
): TypeScriptProcess {
  const name = options.name ?? basename(file);
  const child = spawn(process.execPath, ['--conditions=switchyard-source', '--import', 'tsx', file, ...args], {
    cwd: repositoryRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<ProcessExit>((resolve, reject) => {
    let timedOut = false;
    const timer =
      options.killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.killAfterMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`${name} did not finish in ${options.killAfterMs} ms:\n${stdout}\n${stderr}`));
      else resolve({ code, signal, stdout, stderr });
    });
  });
  let closed = false;
  child.once('close', () => {
    closed = true;
  });
  const printed = (pattern: RegExp) => pattern.test(stdout) || pattern.test(stderr);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForOutput(pattern, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const settle = (error?: Error) => {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.stderr?.off('data', onData);
          child.off('close', onClose);
          if (error) reject(error);
          else resolve();
        };
        // Registered after the collectors above, so the output is already appended when these run.
        const onData = () => {
          if (printed(pattern)) settle();
        };
        const onClose = () =>
          settle(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) without printing ${pattern}:\n${stdout}\n${stderr}`));
        const timer = setTimeout(
          () => settle(new Error(`${name} did not print ${pattern} in ${timeoutMs} ms:\n${stdout}\n${stderr}`)),
          timeoutMs,
        );
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        child.once('close', onClose);
        if (printed(pattern)) settle();
        else if (closed) onClose();
      });
    },
    exited,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
