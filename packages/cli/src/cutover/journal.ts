import type { Store } from '@switchyard/core';
import { type CutoverJournal, parseCutoverJournal, serializeCutoverJournal } from '@switchyard/core/internal';
import { cliError } from '../errors';
import { CUTOVER_STEPS, type CutoverStep } from './steps';

export type { CutoverJournal, CutoverJournalEntry } from '@switchyard/core/internal';

/**
 * Reads the journal of a site (format: core's `cutover-journal.ts`); null when there is none.
 * Throws SWITCHYARD_ERR_CUTOVER_FAILED if it is unreadable or names a step this version does not know.
 */
export async function readJournal(store: Store, site: string): Promise<CutoverJournal | null> {
  const raw = await store.getCutover(site);
  if (raw === null) return null;
  const journal = parseCutoverJournal(raw);
  if (!journal || !isCutoverStep(journal.step)) {
    throw cliError(
      'SWITCHYARD_ERR_CUTOVER_FAILED',
      `the cutover journal ${store.keys.cutover(site)} is unreadable; check the site with switchyard status, then delete the key`,
    );
  }
  return journal;
}

/** Writes (or with null, removes) the journal of a site. */
export async function writeJournal(store: Store, site: string, journal: CutoverJournal | null): Promise<void> {
  await store.putCutover(site, journal === null ? null : serializeCutoverJournal(journal));
}

/** Writes the journal of a new cutover unless the site already has one; false when another cutover got there first. */
export async function createJournal(store: Store, journal: CutoverJournal): Promise<boolean> {
  return store.createCutover(journal.site, serializeCutoverJournal(journal));
}

/** True for the name of a step this version runs. */
export function isCutoverStep(name: string): name is CutoverStep {
  return (CUTOVER_STEPS as readonly string[]).includes(name);
}
