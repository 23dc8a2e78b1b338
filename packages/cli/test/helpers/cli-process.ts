import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { waitFor } from '../../../../test/support/wait';

/** How a `switchyard` run ended and what it printed. */
export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `switchyard` process still running: its output so far, and a way to wait for more. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout or stderr matches `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the process has exited, with everything it printed. */
  readonly exited: Promise<CliRun>;
}

const root = join(__dirname, '..', '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'src', 'bin.ts');

/** Starts the real `switchyard` binary (on the TypeScript sources) with the given arguments and environment. */
export function startCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ['--conditions=switchyard-source', '--import', 'tsx', bin, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
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
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForOutput: async (pattern, timeoutMs = 20_000) => {
      await waitFor(
        () => {
          if (pattern.test(stdout) || pattern.test(stderr)) return true;
          if (child.exitCode !== null) throw new Error(`switchyard exited with ${child.exitCode}: ${stdout}${stderr}`);
          return false;
        },
        { timeoutMs, intervalMs: 20, what: `switchyard ${args.join(' ')} to print ${pattern}` },
      );
    },
    exited,
  };
}
