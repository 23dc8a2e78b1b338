import { hostname } from 'node:os';
import { DEFAULT_SITE, type Store } from '@switchyard/core';
import type { CutoverJournal } from '@switchyard/core/internal';
import { type CliError, cliError } from '../errors';
import { stopProcessGroup } from '../shell-command';
import { readJournal } from './journal';
import { lostJournalError } from './lost-state';

/**
 * The unfinished cutover of a site, for `--resume` or `--abort`. Refuses when there is none, or
 * when the process that runs it is still alive on this host (two processes must not drive one cutover).
 */
export async function unfinished(store: Store, site: string, verb: 'resume' | 'abort'): Promise<CutoverJournal> {
  const journal = await readJournal(store, site);
  if (!journal) {
    throw (
      (await lostJournalError(store, site, verb)) ??
      cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `there is no unfinished cutover of ${site} to ${verb}; see switchyard status`)
    );
  }
  if (journal.host === hostname() && journal.pid !== process.pid && isAlive(journal.pid)) {
    throw cliError(
      'SWITCHYARD_ERR_CUTOVER_IN_PROGRESS',
      `cutover ${journal.id} of ${site} is still running (pid ${journal.pid} on this host); interrupt it with Ctrl-C or kill -INT ${journal.pid} instead`,
    );
  }
  return journal;
}

/**
 * Stops the commands a dead cutover process left running (their process groups are in the step
 * entries, `pgid`), so a resumed sync never runs beside the orphaned one and an abort leaves nothing
 * behind. Only on the host that ran them; elsewhere the report says to check that host. Resolves to
 * the journal without the groups that are gone.
 */
export async function stopOrphanedCommands(
  journal: CutoverJournal,
  report: (step: string, ok: boolean, detail: string) => void,
): Promise<CutoverJournal> {
  const steps = { ...journal.steps };
  for (const [step, entry] of Object.entries(journal.steps)) {
    if (typeof entry.pgid !== 'number') continue;
    const group = { pgid: entry.pgid, ...(typeof entry.pgidStart === 'string' ? { startTime: entry.pgidStart } : {}) };
    if (journal.host !== hostname()) {
      report(
        step,
        false,
        `the ${step} command of cutover ${journal.id} may still run on ${journal.host} (process group ${group.pgid}); stop it there`,
      );
      continue;
    }
    const outcome = await stopProcessGroup(group);
    if (outcome === 'still running') {
      report(step, false, `the ${step} command left by pid ${journal.pid} (process group ${group.pgid}) survived SIGKILL`);
      continue;
    }
    if (outcome === 'stopped')
      report(step, true, `stopped the ${step} command left running by pid ${journal.pid} (process group ${group.pgid})`);
    const { pgid: _pgid, pgidStart: _start, ...rest } = entry;
    steps[step] = rest;
  }
  return { ...journal, steps };
}

/** The error of a cutover started while another one of the site is unfinished. */
export function inProgress(journal: CutoverJournal): CliError {
  return cliError(
    'SWITCHYARD_ERR_CUTOVER_IN_PROGRESS',
    `cutover ${journal.id} of ${journal.site} (to ${journal.to}, at step ${journal.step}, started ${journal.startedAt} by ${journal.by}) is unfinished; finish it with switchyard cutover --resume or undo it with switchyard cutover --abort${journal.site === DEFAULT_SITE ? '' : ` --site ${journal.site}`}`,
  );
}

/** True while a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
