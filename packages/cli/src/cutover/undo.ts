import type { Store } from '@switchyard/core';
import type { CutoverJournal } from '@switchyard/core/internal';
import { waitForConvergence } from '../convergence';
import { putBack } from '../rollback';
import type { CutoverCleanup, CutoverCleanupAction } from './events';
import { createJournal, writeJournal } from './journal';
import { writeBackKeptState } from './lost-state';
import type { CutoverDatabaseOptions } from './options';
import { CUTOVER_STEP_DEFINITIONS, type CutoverUndoOutcome } from './steps';

/** Options of undoCutover. */
export interface UndoOptions {
  readonly actor: string;
  /** History action of the writes, e.g. `cutover rollback` or `cutover abort`. */
  readonly action: string;
  readonly convergenceTimeoutMs: number;
  /** The step that failed, or was running when the process died. */
  readonly failedStep: string;
  /** `cutover --abort`: undo everything, even a switch whose new target was verified. */
  readonly wholeCutover: boolean;
  /** Told about each clean-up action as it happens. */
  readonly report: (action: CutoverCleanupAction, ok: boolean, detail: string) => void;
  /** The database URLs given to this run (never journaled), for an undo that must reconnect. */
  readonly db?: CutoverDatabaseOptions;
}

/**
 * Puts a site back as it was before a cutover: first, if Redis lost its state meanwhile, the state
 * the front ends keep is written back (`lost-state.ts`); then every step's undo, in reverse step order (so the
 * route goes back, and is applied everywhere, before maintenance is lifted). Only values this
 * cutover wrote are touched, compare-and-set (`putBack`, shared with `rollback`). An undo that
 * cannot finish stops the ones after it — lifting maintenance while the route may still point at an
 * unverified server would let writes land there — and keeps the journal, so `--abort` can retry.
 * Never throws: what went wrong is listed in `problems`.
 */
export async function undoCutover(store: Store, journal: CutoverJournal, options: UndoOptions): Promise<CutoverCleanup> {
  const { site } = journal;
  const problems: string[] = [];
  const outcomes = new Map<string, CutoverUndoOutcome>();
  const summaries: string[] = [];
  let blocked = false;
  const stateReport = (ok: boolean, detail: string) => options.report('state', ok, detail);
  try {
    const lost = await writeBackKeptState(store, { ...options, report: stateReport });
    if (lost) {
      summaries.push(lost.summary);
      if (lost.problem) problems.push(lost.problem);
      blocked = Boolean(lost.blocked);
    }
  } catch (error) {
    // Redis unreachable (after a bounded wait): nothing can be undone now.
    stateReport(false, (error as Error).message);
    problems.push((error as Error).message);
    blocked = true;
  }
  // A step that cannot be undone automatically (a promoted database) keeps everything as it is.
  let pinned: string | undefined;
  for (const step of CUTOVER_STEP_DEFINITIONS) {
    pinned = await step
      .pinned?.({ store, journal, entry: journal.steps[step.name], wholeCutover: options.wholeCutover })
      .catch((error: Error) => error.message);
    if (!pinned) continue;
    options.report(step.cleanupAction ?? step.name, false, pinned);
    problems.push(pinned);
    blocked = true;
    break;
  }
  for (const step of [...CUTOVER_STEP_DEFINITIONS].reverse()) {
    if (!step.undo) continue;
    const action = step.cleanupAction ?? step.name;
    if (blocked) {
      // Skipped: an earlier undo could not finish, so the site stays as it is (in maintenance: safe).
      // Only steps that started (they have a journal entry) can have changed something to mention.
      if (journal.steps[step.name]) summaries.push(`${action} left as it is`);
      continue;
    }
    const report = (ok: boolean, detail: string) => options.report(action, ok, detail);
    let outcome: CutoverUndoOutcome;
    try {
      outcome = await step.undo({
        store,
        journal,
        entry: journal.steps[step.name],
        failedStep: options.failedStep,
        wholeCutover: options.wholeCutover,
        report,
        db: options.db,
        putBack: async (kind, change) => {
          const result = await putBack(store, site, kind, change, { actor: options.actor, action: options.action, cutoverId: journal.id });
          if (result.result === 'written') {
            try {
              await waitForConvergence(store, result.version, { timeoutMs: options.convergenceTimeoutMs });
            } catch (error) {
              problems.push((error as Error).message);
              report(false, (error as Error).message);
            }
          }
          return result;
        },
      });
    } catch (error) {
      report(false, (error as Error).message);
      outcome = { restored: false, summary: `${action} not restored`, problem: `${action}: ${(error as Error).message}`, blocked: true };
    }
    if (outcome.problem) problems.push(outcome.problem);
    blocked ||= Boolean(outcome.blocked);
    outcomes.set(step.name, outcome);
    if (outcome.summary) summaries.push(outcome.summary);
  }

  let journalKept = true;
  if (!blocked) {
    try {
      await writeJournal(store, site, null);
      journalKept = false;
      options.report('journal', true, `journal of cutover ${journal.id} removed`);
    } catch (error) {
      problems.push(`journal: ${(error as Error).message}`);
      options.report('journal', false, (error as Error).message);
    }
  } else {
    // `--abort` needs the journal; Redis may have lost it (restarted empty). Never over another cutover's.
    await createJournal(store, journal).catch(() => false);
  }
  const summary = summaries.join(', ');
  return {
    routeRestored: outcomes.get('switch')?.restored ?? false,
    maintenanceRestored: outcomes.get('maintenance')?.restored ?? false,
    journalKept,
    problems,
    summary:
      pinned ?? (journalKept ? `${summary}; clean-up incomplete: fix it, then run switchyard cutover --abort --site ${site}` : summary),
  };
}
