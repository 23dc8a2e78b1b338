import { CUTOVER_DEFAULTS } from '../options';
import { type CutoverReadiness, type CutoverTask, pollUntilReady, runTask } from '../tasks';
import type { CutoverStepDefinition } from './definition';

/**
 * The user's data copy: `--sync` once, then `--until-ready` polled until it passes. Commands are
 * not journaled (they may carry passwords): the entry only says that resume must be given them again.
 */
export const syncStep: CutoverStepDefinition<'sync'> = {
  name: 'sync',
  applies: (options) => Boolean(options.sync || options.untilReady),
  journalEntry: (options) => (options.sync || options.untilReady ? { task: true } : undefined),
  planLines: (options) => [
    ...(options.sync ? [{ label: 'sync', value: describeTask(options.sync) }] : []),
    ...(options.untilReady ? [{ label: 'until ready', value: describeTask(options.untilReady) }] : []),
  ],
  missingOnResume: (options, journal) =>
    journal.steps.sync?.task && !options.sync && !options.untilReady
      ? `cutover ${journal.id} has not finished its sync step; pass the same --sync or --until-ready again`
      : undefined,
  async run(context) {
    const { options } = context;
    const done: string[] = [];
    if (options.sync) {
      await runTask('the sync command', options.sync, context.task(), context.output, context.commands);
      done.push(typeof options.sync === 'string' ? 'sync command succeeded' : 'synced');
    }
    if (options.untilReady) {
      const attempts = await pollUntilReady(options.untilReady, context.task(), context.output, {
        timeoutMs: options.readyTimeoutMs ?? CUTOVER_DEFAULTS.readyTimeoutMs,
        intervalMs: options.readyIntervalMs ?? CUTOVER_DEFAULTS.readyIntervalMs,
        tracker: context.commands,
      });
      done.push(`ready after ${attempts} check(s)`);
    }
    return done.join('; ');
  },
};

/** A task as the plan shows it: the command, or `function`. */
export function describeTask(task: CutoverTask | CutoverReadiness): string {
  return typeof task === 'string' ? task : 'function';
}
