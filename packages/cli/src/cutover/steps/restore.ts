import { ConflictError } from '@switchyard/core';
import { describeMaintenanceValue } from '../../describe';
import { cliError } from '../../errors';
import type { CutoverStepDefinition } from './definition';

/**
 * Maintenance back to what it was before the cutover (normally off), applied everywhere; then the
 * journal is removed (the cutover is over). Its undo is the maintenance step's.
 */
export const restoreStep: CutoverStepDefinition<'restore'> = {
  name: 'restore',
  applies: () => true,
  async run(context) {
    const { journal } = context;
    const action = journal.previousMaintenance === null ? 'cutover: maintenance off' : 'cutover: maintenance restore';
    let version: number;
    try {
      version = await context.ensure('maintenance', journal.previousMaintenance, journal.maintenance, action);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // Someone set a maintenance of their own during the window: it is theirs to lift, and the
      // cutover itself is done (the new server is verified), so say that rather than "retry".
      throw cliError(
        'SWITCHYARD_ERR_CONFLICT',
        `maintenance of ${journal.site} was changed by someone else during the cutover (now ${describeMaintenanceValue(error.current)}); the site is on ${journal.to}, verified, and their maintenance is left for them to lift (switchyard maintenance off${journal.site === 'default' ? '' : ` --site ${journal.site}`})`,
        { cause: error },
      );
    }
    const applied = await context.converge(version);
    return `maintenance ${describeMaintenanceValue(journal.previousMaintenance)}; ${applied}`;
  },
};
