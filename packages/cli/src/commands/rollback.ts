import { defaultActor, SwitchyardError } from '@switchyard/core';
import { UNFENCE_BY_HAND } from '@switchyard/db';
import type { CommandSpec } from '../command';
import { describeMaintenanceValue } from '../describe';
import { applyRollback, planRollback, type RollbackChange } from '../rollback';
import { awaitFronts, CONVERGENCE_OPTIONS, type ConvergenceSummary, describeConvergence, frontWait } from './after-write';

/** `switchyard rollback` */
export const rollbackCommand: CommandSpec = {
  name: 'rollback',
  summary: "undo a site's last change (or its whole last cutover) from the history",
  description: [
    'Restores the route and maintenance state a site had before its last recorded change. If that',
    'change was part of a cutover, the whole cutover is undone (route back to the old server,',
    'maintenance as it was before). Writes are compare-and-set and recorded in the history as',
    '"rollback", so a second rollback undoes the first. Refuses when the current value is not the one',
    'the history recorded (someone changed it outside switchyard), and to undo a cutover that promoted a',
    'database (the old one misses the writes made since) unless --after-promote.',
  ].join('\n'),
  options: {
    'dry-run': { type: 'boolean', description: 'show what would be restored, change nothing' },
    'after-promote': {
      type: 'boolean',
      description: 'undo a cutover that promoted a database anyway (writes made on the new database since are not on the old one)',
    },
    ...CONVERGENCE_OPTIONS,
  },
  examples: ['switchyard rollback --site shop', 'switchyard rollback --dry-run', 'switchyard rollback --yes --json'],
  async run(context, args) {
    const wait = frontWait(args);
    const { store, site, style } = context;
    const plan = await planRollback(store, site, { afterPromote: args.flag('after-promote') });
    const undone = plan.undoing.map((entry) => ({
      id: entry.id,
      action: entry.action,
      kind: entry.kind,
      actor: entry.actor,
      cutoverId: entry.cutoverId,
    }));
    const describe = (change: RollbackChange) =>
      change.kind === 'route'
        ? `route ${change.from ?? '(none)'} → ${style.cyan(change.to ?? '(none)')}`
        : `maintenance ${describeMaintenanceValue(change.from)} → ${style.cyan(describeMaintenanceValue(change.to))}`;
    const latest = plan.undoing[0] as (typeof plan.undoing)[number];
    const what = latest.cutoverId ? `cutover ${latest.cutoverId} (${plan.undoing.length} steps)` : `"${latest.action}" by ${latest.actor}`;
    if (plan.changes.length === 0) {
      if (context.json) context.printJson({ site, undone, changes: [], version: latest.version, dryRun: args.flag('dry-run') });
      else context.print(`nothing to roll back: the last change of ${site}, ${what}, left it as it was before`);
      return 0;
    }
    if (!context.json) {
      context.print(`${args.flag('dry-run') ? 'would undo' : 'undoing'} ${what} on ${style.bold(site)}:`);
      for (const change of plan.changes) context.print(`  ${describe(change)}`);
    }
    if (args.flag('dry-run')) {
      if (context.json) context.printJson({ site, undone, changes: plan.changes, dryRun: true });
      return 0;
    }
    if (!(await context.confirm('Roll back?'))) throw new SwitchyardError('SWITCHYARD_ERR_ABORTED', 'rollback cancelled; nothing changed');
    let convergence: ConvergenceSummary = { waited: false, fronts: 0, ms: 0 };
    const version = await applyRollback(store, plan, {
      actor: defaultActor(),
      afterWrite: async (written) => {
        convergence = await awaitFronts(context, wait, written);
      },
    });
    if (context.json) context.printJson({ site, undone, changes: plan.changes, version, convergence });
    else {
      context.print(`${style.green('rolled back')} (version ${version})`);
      context.print(describeConvergence(convergence, version, style));
    }
    // Rollback moves traffic, not data: say what is left to do about the databases.
    if (plan.afterPromotion)
      context.note(
        `the old database misses the writes made on the new one since the cutover, and is still read-only if the cutover fenced it (${UNFENCE_BY_HAND})`,
      );
    return 0;
  },
};
