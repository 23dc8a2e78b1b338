import { describeMaintenanceValue } from '../../describe';
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
    const version = await context.ensure('maintenance', journal.previousMaintenance, journal.maintenance, action);
    const applied = await context.converge(version);
    return `maintenance ${describeMaintenanceValue(journal.previousMaintenance)}; ${applied}`;
  },
};
