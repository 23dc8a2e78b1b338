import { readValue, type Store } from '@switchyard/core';
import { writeRaw } from '@switchyard/core/internal';
import { waitForConvergence } from '../convergence';
import { describeMaintenanceValue } from '../describe';
import type { CutoverCleanup } from './events';
import { type CutoverJournal, writeJournal } from './journal';

/** Options of undoCutover. */
export interface UndoOptions {
  readonly actor: string;
  /** History action of the writes, e.g. `cutover rollback` or `cutover abort`. */
  readonly action: string;
  readonly convergenceTimeoutMs: number;
  /** Put the route back to the old target if it points at the new one (false once the new target is verified). */
  readonly restoreRoute: boolean;
  /** Told about each clean-up action as it happens. */
  readonly report: (action: 'route' | 'maintenance' | 'journal', ok: boolean, detail: string) => void;
}

/**
 * Puts a site back as it was before a cutover: route to the old target (and applied everywhere)
 * first, then the maintenance state it had before. Only values this cutover wrote are touched,
 * compare-and-set. The journal is removed unless a read or write failed, so `--abort` can retry.
 * Never throws: what went wrong is listed in `problems`.
 */
export async function undoCutover(store: Store, journal: CutoverJournal, options: UndoOptions): Promise<CutoverCleanup> {
  const { site } = journal;
  const write = { actor: options.actor, action: options.action, cutoverId: journal.id };
  const problems: string[] = [];
  let failedWrite = false;
  let routeRestored = false;
  let maintenanceRestored = false;
  let routeSummary = '';
  const converge = async (version: number, what: 'route' | 'maintenance') => {
    try {
      await waitForConvergence(store, version, { timeoutMs: options.convergenceTimeoutMs });
    } catch (error) {
      problems.push((error as Error).message);
      options.report(what, false, (error as Error).message);
    }
  };

  try {
    const route = await readValue(store, 'route', site);
    if (options.restoreRoute && route === journal.to && journal.from !== journal.to) {
      const result = await writeRaw(store, 'route', site, journal.from, { ...write, expect: journal.to });
      routeRestored = true;
      routeSummary = `route rolled back to ${journal.from ?? '(none)'}`;
      options.report('route', true, routeSummary);
      await converge(result.version, 'route');
    } else {
      routeSummary = route === journal.from ? `route untouched (${route ?? 'none'})` : `route left at ${route ?? '(none)'}`;
    }
  } catch (error) {
    failedWrite = true;
    routeSummary = 'route not restored';
    problems.push(`route: ${(error as Error).message}`);
    options.report('route', false, (error as Error).message);
  }

  // Lifting maintenance while the route may still point at an unverified server would let writes land there.
  let maintenanceSummary = 'maintenance left on';
  if (!failedWrite) {
    try {
      const current = await readValue(store, 'maintenance', site);
      const before = describeMaintenanceValue(journal.previousMaintenance);
      if (current === journal.maintenance && journal.maintenance !== journal.previousMaintenance) {
        const result = await writeRaw(store, 'maintenance', site, journal.previousMaintenance, { ...write, expect: journal.maintenance });
        maintenanceRestored = true;
        maintenanceSummary = `maintenance restored (${before})`;
        options.report('maintenance', true, maintenanceSummary);
        await converge(result.version, 'maintenance');
      } else if (current === journal.previousMaintenance) {
        maintenanceRestored = true;
        maintenanceSummary = `maintenance as before (${before})`;
      } else {
        maintenanceSummary = `maintenance left as someone else set it (${describeMaintenanceValue(current)})`;
        problems.push(`maintenance of ${site} was changed by someone else during the cutover; left as it is`);
        options.report('maintenance', false, maintenanceSummary);
      }
    } catch (error) {
      failedWrite = true;
      problems.push(`maintenance: ${(error as Error).message}`);
      options.report('maintenance', false, (error as Error).message);
    }
  }

  let journalKept = true;
  if (!failedWrite) {
    try {
      await writeJournal(store, site, null);
      journalKept = false;
      options.report('journal', true, `journal of cutover ${journal.id} removed`);
    } catch (error) {
      problems.push(`journal: ${(error as Error).message}`);
      options.report('journal', false, (error as Error).message);
    }
  }
  const summary = [routeSummary, maintenanceSummary].join(', ');
  return {
    routeRestored,
    maintenanceRestored,
    journalKept,
    problems,
    summary: journalKept ? `${summary}; clean-up incomplete: fix it, then run switchyard cutover --abort --site ${site}` : summary,
  };
}
