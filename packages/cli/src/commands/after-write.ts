import type { OptionSpec, ParsedArgs } from '../command';
import type { CommandContext } from '../context';
import { waitForConvergence } from '../convergence';
import { parseDuration } from '../option-values';
import { formatDuration, type Style } from '../style';

/** Options of every command that changes state: whether and how long to wait for the front ends. */
export const CONVERGENCE_OPTIONS = {
  'no-wait': { type: 'boolean', description: 'do not wait for the front ends to apply the change' },
  timeout: { type: 'string', value: '<duration>', description: 'how long to wait for every front end (default 10s)' },
} as const satisfies Record<string, OptionSpec>;

/** Whether and how long a write command waits for the front ends, read from its options. */
export interface FrontWait {
  /** False with --no-wait. */
  readonly wait: boolean;
  readonly timeoutMs: number;
}

/** How the front ends took a change, as printed and as put in --json output. */
export interface ConvergenceSummary {
  /** False with --no-wait. */
  readonly waited: boolean;
  /** Live front ends that applied the change (0: none was running). */
  readonly fronts: number;
  readonly ms: number;
}

/** Reads --timeout (the cutover's convergence timeout too). */
export function convergenceTimeout(args: ParsedArgs): number {
  return parseDuration(args.string('timeout') ?? '10s', 'timeout');
}

/** Reads --no-wait and --timeout; call it before writing anything, so a bad value changes nothing. */
export function frontWait(args: ParsedArgs): FrontWait {
  return { wait: !args.flag('no-wait'), timeoutMs: convergenceTimeout(args) };
}

/** Waits (unless --no-wait) until every live front end applies `version`; throws SWITCHYARD_ERR_CONVERGENCE_TIMEOUT. */
export async function awaitFronts(context: CommandContext, wait: FrontWait, version: number): Promise<ConvergenceSummary> {
  if (!wait.wait) return { waited: false, fronts: 0, ms: 0 };
  const result = await waitForConvergence(context.store, version, { timeoutMs: wait.timeoutMs, signal: context.signal });
  return { waited: true, fronts: result.fronts.length, ms: result.elapsedMs };
}

/** `2 front ends apply version 7 after 35 ms`, or why nothing was waited for. */
export function describeConvergence(summary: ConvergenceSummary, version: number, style: Style): string {
  if (!summary.waited) return style.yellow('not waiting for the front ends (--no-wait)');
  if (summary.fronts === 0) return style.yellow('no live front end to wait for; the change applies when one starts');
  return style.green(
    `${summary.fronts} front end${summary.fronts === 1 ? '' : 's'} apply version ${version} after ${formatDuration(summary.ms)}`,
  );
}
