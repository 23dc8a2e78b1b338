import { cliError } from '../errors';
import { describeExit, runShellCommand } from '../shell-command';
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

/** Runs a task once; throws SWITCHYARD_ERR_CUTOVER_FAILED naming `what` when it fails. */
export async function runTask(what: string, task: CutoverTask, context: CutoverTaskContext, output: TaskOutput): Promise<void> {
  if (typeof task === 'function') {
    await task(context);
    return;
  }
  const result = await runShellCommand(task, { signal: context.signal, env: taskEnvironment(context), onLine: output });
  if (result.exitCode !== 0) throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `${what} ${describeExit(result)}`);
}

/** Polls a readiness check every `intervalMs` until it passes; throws SWITCHYARD_ERR_CUTOVER_FAILED after `timeoutMs`. */
export async function pollUntilReady(
  check: CutoverReadiness,
  context: CutoverTaskContext,
  output: TaskOutput,
  { timeoutMs, intervalMs }: { timeoutMs: number; intervalMs: number },
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
          : (await runShellCommand(check, { signal, env: taskEnvironment(context), onLine: output })).exitCode === 0;
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
