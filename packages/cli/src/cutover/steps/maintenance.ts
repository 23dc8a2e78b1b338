import { readValue } from '@switchyard/core';
import { describeMaintenanceValue } from '../../describe';
import { cliError } from '../../errors';
import type { CutoverStepContext, CutoverStepDefinition } from './definition';

/**
 * Refuses to go on once the site's maintenance was lifted during the window (another operator ran
 * `maintenance off`): writes may then have reached the old server after the drain, and a copy or a
 * caught-up position would miss them. Any other maintenance (a new message, `--full`) still keeps
 * writes out and is left to whoever set it. Called before the database is promoted and before the
 * route switches; `what` names the step refused.
 */
export async function assertWindowHeld(context: Pick<CutoverStepContext, 'store' | 'journal'>, what: string): Promise<void> {
  const { journal } = context;
  if ((await readValue(context.store, 'maintenance', journal.site)) !== null) return;
  throw cliError(
    'SWITCHYARD_ERR_CONFLICT',
    `maintenance of ${journal.site} was lifted during the cutover (by someone else): writes may have reached ${journal.from ?? 'the old server'} after the drain and be missing on the new one, so ${what} was not done; run the cutover again`,
  );
}

/**
 * Maintenance on (read-only unless `--full`, the journaled value), applied by every front end.
 * Its entry records the state version of the write, which the drain waits for. Undo: the
 * maintenance state from before the cutover, unless someone else changed it meanwhile.
 */
export const maintenanceStep: CutoverStepDefinition<'maintenance'> = {
  name: 'maintenance',
  applies: () => true,
  async run(context) {
    const { journal } = context;
    await context.openWindow();
    const version = await context.ensure('maintenance', journal.maintenance, journal.previousMaintenance, 'cutover: maintenance on');
    await context.record({ version });
    return `${describeMaintenanceValue(journal.maintenance)}; ${await context.converge(version)}`;
  },
  async undo(context) {
    const { journal } = context;
    const before = describeMaintenanceValue(journal.previousMaintenance);
    const outcome = await context.putBack('maintenance', { value: journal.previousMaintenance, expected: journal.maintenance });
    if (outcome.result === 'already') return { restored: true, summary: `maintenance as before (${before})` };
    if (outcome.result === 'written') {
      const summary = `maintenance restored (${before})`;
      context.report(true, summary);
      return { restored: true, summary };
    }
    const summary = `maintenance left as someone else set it (${describeMaintenanceValue(outcome.current)})`;
    context.report(false, summary);
    return {
      restored: false,
      summary,
      problem: `maintenance of ${journal.site} was changed by someone else during the cutover; left as it is`,
    };
  },
};
