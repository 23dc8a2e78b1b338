import { waitForDrain } from '../../convergence';
import { CUTOVER_DEFAULTS } from '../options';
import type { CutoverStepDefinition } from './definition';

/** Waits until no front end has a write in flight, counting only heartbeats sent under the maintenance step's version. */
export const drainStep: CutoverStepDefinition<'drain'> = {
  name: 'drain',
  applies: () => true,
  async run({ store, journal, options, signal }) {
    const maintenanceVersion = journal.steps.maintenance?.version;
    const drained = await waitForDrain(store, typeof maintenanceVersion === 'number' ? maintenanceVersion : 0, {
      timeoutMs: options.drainTimeoutMs ?? CUTOVER_DEFAULTS.drainTimeoutMs,
      signal,
    });
    return drained.fronts.length === 0 ? 'no live front end' : `no write in flight on ${drained.fronts.length} front end(s)`;
  },
};
