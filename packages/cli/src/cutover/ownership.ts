import { hostname } from 'node:os';
import { DEFAULT_SITE, type Store } from '@switchyard/core';
import type { CutoverJournal } from '@switchyard/core/internal';
import { type CliError, cliError } from '../errors';
import { readJournal } from './journal';

/**
 * The unfinished cutover of a site, for `--resume` or `--abort`. Refuses when there is none, or
 * when the process that runs it is still alive on this host (two processes must not drive one cutover).
 */
export async function unfinished(store: Store, site: string, verb: 'resume' | 'abort'): Promise<CutoverJournal> {
  const journal = await readJournal(store, site);
  if (!journal)
    throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `there is no unfinished cutover of ${site} to ${verb}; see switchyard status`);
  if (journal.host === hostname() && journal.pid !== process.pid && isAlive(journal.pid)) {
    throw cliError(
      'SWITCHYARD_ERR_CUTOVER_IN_PROGRESS',
      `cutover ${journal.id} of ${site} is still running (pid ${journal.pid} on this host); interrupt it with Ctrl-C or kill -INT ${journal.pid} instead`,
    );
  }
  return journal;
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
