import { defaultActor, SwitchyardError } from '@switchyard/core';
import type { CommandSpec } from '../command';
import { readAgreement } from '../convergence';
import { chooseKept, describeChoice, writeBackKept } from '../kept-state';
import { awaitFronts, CONVERGENCE_OPTIONS, describeConvergence, frontWait } from './after-write';

/** `switchyard restore` */
export const restoreCommand: CommandSpec = {
  name: 'restore',
  summary: 'write the state the front ends keep back into Redis after Redis lost it',
  description: [
    'When Redis comes back without its state (restarted without persistence, failed over to an empty',
    'replica), the front ends keep serving what they had and report it. This writes that state back',
    'into Redis — compare-and-set against what Redis holds now, so two operators (or a write made',
    'meanwhile) cannot restore conflicting states — with a version above the kept one, then waits',
    'until every front end follows Redis again. When the front ends keep different states it exits 1',
    'naming who keeps what: choose one with --from <front id>. Recorded in the history as "restore".',
    'Write commands (route set, maintenance on/off…) do this first by themselves when needed.',
  ].join('\n'),
  options: {
    from: { type: 'string', value: '<front id>', description: 'the front end whose kept state to write back (see switchyard fronts)' },
    ...CONVERGENCE_OPTIONS,
  },
  examples: ['switchyard restore', 'switchyard restore --from web1-4242-a1b2c3', 'switchyard restore --yes --json'],
  async run(context, args) {
    const wait = frontWait(args);
    const { store, style } = context;
    const agreement = await readAgreement(store);
    const choice = chooseKept(agreement, args.string('from'));
    if (!choice) {
      if (context.json) context.printJson({ restored: false, version: agreement.state.version, fronts: [], values: {}, convergence: null });
      else context.print(`nothing to restore: no live front end keeps state that Redis lost (version ${agreement.state.version})`);
      return 0;
    }
    if (!context.json) context.print(`restoring: ${describeChoice(choice)}`);
    if (!(await context.confirm(`Write version ${choice.kept.version} back into Redis?`))) {
      throw new SwitchyardError('SWITCHYARD_ERR_ABORTED', 'restore cancelled; nothing changed');
    }
    const { version, restored } = await writeBackKept(store, choice.kept, defaultActor());
    const convergence = await awaitFronts(context, wait, version);
    if (context.json) {
      context.printJson({
        restored,
        keptVersion: choice.kept.version,
        version,
        fronts: choice.fronts.map((front) => front.id),
        values: choice.kept.values,
        convergence,
      });
      return 0;
    }
    context.print(
      restored
        ? `${style.green('restored')} version ${choice.kept.version} into Redis (now version ${version})`
        : `already restored: Redis holds the kept values at version ${version}; nothing written`,
    );
    context.print(describeConvergence(convergence, version, style));
    return 0;
  },
};
