import { cliError } from '../errors';
import { describeExit, runShellCommand, type ShellCommandResult } from '../shell-command';
import { sleep } from '../sleep';

/** What a sync, readiness or verify function is given. */
export interface CutoverTaskContext {
  /** Aborted when the cutover is interrupted: stop promptly. */
  readonly signal: AbortSignal;
  readonly cutoverId: string;
  readonly site: string;
  readonly from: string | null;
  readonly to: string;
  /** A line for the progress output, shown like a command's output. */
  log(line: string): void;
}

/** A step the user supplies: a shell command (non-zero exit fails) or an async function (throwing fails). */
export type CutoverTask = string | ((context: CutoverTaskContext) => Promise<void>);

/** A readiness check polled until it passes: a shell command (exit 0) or a function resolving to true. */
export type CutoverReadiness = string | ((context: CutoverTaskContext) => Promise<boolean>);

/** How a task's output reaches the progress display. */
export type TaskOutput = (line: string, stream: 'stdout' | 'stderr' | 'log') => void;

/**
 * Told when a shell command starts and when it has ended, so its process group is in the journal
 * while it runs: `--resume` or `--abort` after this process was killed stops it (`stopProcessGroup`).
 */
export interface CommandTracker {
  started(pid: number): void;
  /** Resolves once the journal no longer names the command. */
  ended(): Promise<void>;
}

/** Runs a task once; throws SWITCHYARD_ERR_CUTOVER_FAILED naming `what` when it fails. */
export async function runTask(
  what: string,
  task: CutoverTask,
  context: CutoverTaskContext,
  output: TaskOutput,
  tracker?: CommandTracker,
): Promise<void> {
  if (typeof task === 'function') {
    await task(context);
    return;
  }
  const result = await runCommand(task, context.signal, context, output, tracker);
  if (result.exitCode !== 0) throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `${what} ${describeExit(result)}`);
}

async function runCommand(
  command: string,
  signal: AbortSignal,
  context: CutoverTaskContext,
  output: TaskOutput,
  tracker: CommandTracker | undefined,
): Promise<ShellCommandResult> {
  try {
    return await runShellCommand(command, {
      signal,
      env: taskEnvironment(context),
      onLine: output,
      ...(tracker ? { onSpawn: (pid: number) => tracker.started(pid) } : {}),
    });
  } finally {
    await tracker?.ended();
  }
}

/** Polls a readiness check every `intervalMs` until it passes; throws SWITCHYARD_ERR_CUTOVER_FAILED after `timeoutMs`. */
export async function pollUntilReady(
  check: CutoverReadiness,
  context: CutoverTaskContext,
  output: TaskOutput,
  { timeoutMs, intervalMs, tracker }: { timeoutMs: number; intervalMs: number; tracker?: CommandTracker },
): Promise<number> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([context.signal, deadline]);
  const attemptContext = { ...context, signal };
  let attempts = 0;
  try {
    for (;;) {
      attempts += 1;
      const ready =
        typeof check === 'function'
          ? await check(attemptContext)
          : (await runCommand(check, signal, context, output, tracker)).exitCode === 0;
      if (ready) return attempts;
      await sleep(intervalMs, signal);
    }
  } catch (error) {
    if (context.signal.aborted || !deadline.aborted) throw error;
    throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `the readiness check did not pass within ${timeoutMs} ms (${attempts} attempts)`);
  }
}

/** Variables a sync or verify command can use instead of repeating the targets. */
function taskEnvironment(context: CutoverTaskContext): Record<string, string> {
  return {
    SWITCHYARD_CUTOVER_ID: context.cutoverId,
    SWITCHYARD_SITE: context.site,
    SWITCHYARD_FROM: context.from ?? '',
    SWITCHYARD_TO: context.to,
  };
}
