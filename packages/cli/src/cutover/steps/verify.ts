import { checkHealth } from '../../health-check';
import { formatDuration } from '../../style';
import { runTask } from '../tasks';
import type { CutoverStepDefinition } from './definition';
import { describeTask } from './sync';

/** Checks the new target after the switch: `--verify`, else a health check of it (unless `--force`). */
export const verifyStep: CutoverStepDefinition<'verify'> = {
  name: 'verify',
  applies: (options, journal) => Boolean(options.verify) || !options.skipHealthCheck || Boolean(journal.steps.verify?.task),
  journalEntry: (options) => (options.verify ? { task: true } : undefined),
  planLines: (options, journal) => [
    {
      label: 'verify',
      value: options.verify
        ? describeTask(options.verify)
        : options.skipHealthCheck
          ? null
          : `health check GET ${journal.to}${options.healthPath ?? '/'}`,
    },
  ],
  missingOnResume: (options, journal) =>
    journal.steps.verify?.task && !options.verify
      ? `cutover ${journal.id} has not finished its verify step; pass the same --verify again`
      : undefined,
  async run(context) {
    const { options, journal } = context;
    if (options.verify) {
      await runTask('the verify command', options.verify, context.task(), context.output, context.commands);
      return 'verify command succeeded';
    }
    const health = await checkHealth(journal.to, {
      path: options.healthPath,
      timeoutMs: options.healthTimeoutMs,
      signal: context.signal,
    });
    return `GET ${health.url} answered ${health.status} in ${formatDuration(health.elapsedMs)}`;
  },
};
