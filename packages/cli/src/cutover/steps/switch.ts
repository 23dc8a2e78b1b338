import { readValue } from '@switchyard/core';
import type { CutoverStepDefinition } from './definition';
import { assertWindowHeld } from './maintenance';

/**
 * The history action of a switch made after the cutover promoted a database. `switchyard rollback`
 * looks for it: putting that route back would send the site to the old database, which is fenced or
 * misses the writes made since on the new one.
 */
export const SWITCH_AFTER_PROMOTION = 'cutover: switch after database promotion';

/**
 * The route to the new target (compare-and-set against the old one), applied by every front end.
 * Undo: back to the old target if it points at the new one — unless the new target was verified
 * and only the restore step failed (an explicit `--abort` still puts it back).
 */
export const switchStep: CutoverStepDefinition<'switch'> = {
  name: 'switch',
  cleanupAction: 'route',
  applies: () => true,
  async run(context) {
    const { journal } = context;
    // Resumed after the switch was written: nothing left to guard.
    if ((await readValue(context.store, 'route', journal.site)) !== journal.to)
      await assertWindowHeld(context, `the switch to ${journal.to}`);
    const promoted = journal.steps.database?.promoted === true;
    const version = await context.ensure('route', journal.to, journal.from, promoted ? SWITCH_AFTER_PROMOTION : 'cutover: switch');
    return `route ${journal.from ?? '(none)'} → ${journal.to}; ${await context.converge(version)}`;
  },
  async undo(context) {
    const { journal, store } = context;
    if (journal.from === journal.to || (context.failedStep === 'restore' && !context.wholeCutover)) {
      return { restored: false, summary: describeRoute(await readValue(store, 'route', journal.site), journal.from) };
    }
    const outcome = await context.putBack('route', { value: journal.from, expected: journal.to });
    if (outcome.result === 'written') {
      const summary = `route rolled back to ${journal.from ?? '(none)'}`;
      context.report(true, summary);
      return { restored: true, summary };
    }
    return { restored: false, summary: describeRoute(outcome.result === 'changed' ? outcome.current : journal.from, journal.from) };
  },
};

function describeRoute(route: string | null, from: string | null): string {
  return route === from ? `route untouched (${route ?? 'none'})` : `route left at ${route ?? '(none)'}`;
}
