import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { assertSiteName, DEFAULT_SITE, defaultActor, parseRoute, SwitchyardError } from '@switchyard/core';
import type { CutoverJournal } from '@switchyard/core/internal';
import { cliError } from '../errors';
import type { CutoverReport } from './events';
import { createJournal, readJournal } from './journal';
import {
  CUTOVER_DEFAULTS,
  type CutoverAbortReport,
  type CutoverBaseOptions,
  type CutoverOptions,
  type CutoverStepOptions,
} from './options';
import { inProgress, stopOrphanedCommands, unfinished } from './ownership';
import { checkAndPlan, type Preflight, planOf } from './preflight';
import { CutoverRun, elapsed, emitter, eventError, stepIndex } from './runner';
import { CUTOVER_STEP_DEFINITIONS } from './steps';
import { undoCutover } from './undo';

/**
 * Moves a site to a new server as one verified, resumable, reversible operation: pre-flight checks;
 * maintenance on (read-only unless `full`), applied everywhere, in-flight writes drained; sync;
 * route switched (compare-and-set) and applied everywhere; verification; maintenance restored.
 * Each step is journaled in the store and recorded in the history under one cutover id.
 * A failure or abort before the switch restores maintenance and leaves the route alone; after the
 * switch the route goes back to the old target first. Throws the pre-flight error as is (nothing
 * changed yet), or a CutoverError once something changed.
 */
export async function cutover(options: CutoverOptions): Promise<CutoverReport> {
  const site = assertSiteName(options.site ?? DEFAULT_SITE);
  const to = parseRoute(options.to).target;
  const { store } = options;
  const actor = options.actor ?? defaultActor();
  const id = `c-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const emit = emitter(options.onEvent, id, site);
  const started = performance.now();
  emit({ type: 'step-start', step: 'preflight' });
  let preflight: Preflight;
  let confirmMs = 0;
  try {
    preflight = await checkAndPlan(options, { id, site, to, actor });
    emit({ type: 'plan', plan: preflight.plan });
    if (options.dryRun) {
      // A write that changes nothing: a read-only replica refuses it just the same.
      await store.removeFront(`write-probe-${id}`);
      preflight.checks.push('Redis writable');
      const step = { step: 'preflight' as const, ms: elapsed(started), detail: preflight.checks.join('; ') };
      emit({ type: 'step-done', ...step });
      const report: CutoverReport = {
        cutoverId: id,
        site,
        from: preflight.journal.from,
        to,
        outcome: 'dry-run',
        steps: [step],
        maintenanceWindowMs: null,
        totalMs: step.ms,
      };
      emit({ type: 'done', report });
      return report;
    }
    const asked = performance.now();
    if (options.confirm && !(await options.confirm(preflight.plan))) {
      throw new SwitchyardError('SWITCHYARD_ERR_ABORTED', 'cutover cancelled; nothing was changed');
    }
    // Time spent reading the plan is not pre-flight time.
    confirmMs = elapsed(asked);
    // Someone may have started a cutover while the plan was being read: only one journal can be created.
    if (!(await createJournal(store, preflight.journal))) {
      const other = await readJournal(store, site);
      throw other
        ? inProgress(other)
        : cliError('SWITCHYARD_ERR_CUTOVER_IN_PROGRESS', `another cutover of ${site} just started and ended; run it again`);
    }
    preflight.checks.push('Redis writable');
  } catch (error) {
    emit({ type: 'step-failed', step: 'preflight', ms: elapsed(started), error: eventError(error) });
    throw error;
  }
  const step = { step: 'preflight' as const, ms: elapsed(started) - confirmMs, detail: preflight.checks.join('; ') };
  emit({ type: 'step-done', ...step });
  return new CutoverRun(options, preflight.journal, actor, emit, started, [step]).run();
}

/**
 * Continues an interrupted cutover from its journal, re-running the step it was in (steps are
 * idempotent). A cutover with a sync or verify command must be given it again: commands are not
 * stored. Throws SWITCHYARD_ERR_CUTOVER_FAILED when there is nothing to resume.
 */
export async function resumeCutover(options: CutoverStepOptions): Promise<CutoverReport> {
  const site = assertSiteName(options.site ?? DEFAULT_SITE);
  const journal = await unfinished(options.store, site, 'resume');
  for (const step of CUTOVER_STEP_DEFINITIONS) {
    if (stepIndex(step.name) < stepIndex(journal.step)) continue;
    const missing = step.missingOnResume?.(options, journal);
    if (missing) throw cliError('SWITCHYARD_ERR_USAGE', missing);
  }
  const actor = options.actor ?? defaultActor();
  const emit = emitter(options.onEvent, journal.id, site);
  const stopped = await stopOrphanedCommands(journal, (action, ok, detail) => emit({ type: 'cleanup', action, ok, detail }));
  const resumed: CutoverJournal = { ...stopped, host: hostname(), pid: process.pid, updatedAt: new Date().toISOString() };
  const fronts = await options.store.listFronts();
  emit({ type: 'plan', plan: planOf(resumed, options, fronts.length, true) });
  return new CutoverRun(options, resumed, actor, emit, performance.now(), []).run();
}

/**
 * Undoes an interrupted cutover from its journal: route back to the old target if it was switched,
 * then the maintenance state it had before; the journal is removed. Throws SWITCHYARD_ERR_CUTOVER_FAILED when
 * there is nothing to abort or the clean-up could not finish (the journal is then kept).
 */
export async function abortCutover(options: CutoverBaseOptions): Promise<CutoverAbortReport> {
  const site = assertSiteName(options.site ?? DEFAULT_SITE);
  const journal = await unfinished(options.store, site, 'abort');
  const emit = emitter(options.onEvent, journal.id, site);
  const report = (action: string, ok: boolean, detail: string) => emit({ type: 'cleanup', action, ok, detail });
  // The orphaned command first: a sync still copying would undo the undo.
  await stopOrphanedCommands(journal, report);
  const cleanup = await undoCutover(options.store, journal, {
    actor: options.actor ?? defaultActor(),
    action: 'cutover abort',
    convergenceTimeoutMs: options.convergenceTimeoutMs ?? CUTOVER_DEFAULTS.convergenceTimeoutMs,
    failedStep: journal.step,
    wholeCutover: true,
    report,
    db: options.db,
  });
  if (cleanup.journalKept) {
    throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `abort of cutover ${journal.id} incomplete: ${cleanup.problems.join('; ')}`);
  }
  return { cutoverId: journal.id, site, cleanup };
}
