import type { Store } from '@switchyard/core';
import { cliError } from '../errors';

/** The steps of a cutover, in order. */
export const CUTOVER_STEPS = ['preflight', 'maintenance', 'drain', 'sync', 'switch', 'verify', 'restore'] as const;

/** One step of a cutover. */
export type CutoverStep = (typeof CUTOVER_STEPS)[number];

/**
 * The record of an unfinished cutover, in `switchyard:cutover:<site>`: enough for `status` to say
 * what is going on and for `--resume` or `--abort` to finish or undo it from another process.
 * Shell commands are not stored (they may carry passwords); resume asks for them again.
 */
export interface CutoverJournal {
  readonly id: string;
  readonly site: string;
  /** The step running, or the one that was running when the process died. */
  readonly step: CutoverStep;
  /** The route before the cutover (null: none). */
  readonly from: string | null;
  readonly to: string;
  /** The maintenance value before the cutover (null: off), restored at the end or on failure. */
  readonly previousMaintenance: string | null;
  /** The maintenance value this cutover writes. */
  readonly maintenance: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** `user@host` who started it. */
  readonly by: string;
  /** Where the process running it is (or was). */
  readonly host: string;
  readonly pid: number;
  /** It has a sync or until-ready step, which resume must be given again. */
  readonly hasSync: boolean;
  /** It has a verify command, which resume must be given again. */
  readonly hasVerify: boolean;
  /** When maintenance went on, for the maintenance window of a resumed cutover. */
  readonly maintenanceAt?: string;
}

/** Reads the journal of a site; null when there is none. Throws SWITCHYARD_ERR_CUTOVER_FAILED if it is unreadable. */
export async function readJournal(store: Store, site: string): Promise<CutoverJournal | null> {
  const raw = await store.getCutover(site);
  if (raw === null) return null;
  try {
    const journal = JSON.parse(raw) as CutoverJournal;
    if (typeof journal.id !== 'string' || !CUTOVER_STEPS.includes(journal.step) || typeof journal.to !== 'string')
      throw new Error('fields missing');
    return journal;
  } catch {
    throw cliError(
      'SWITCHYARD_ERR_CUTOVER_FAILED',
      `the cutover journal ${store.keys.cutover(site)} is unreadable; check the site with switchyard status, then delete the key`,
    );
  }
}

/** Writes (or with null, removes) the journal of a site. */
export async function writeJournal(store: Store, site: string, journal: CutoverJournal | null): Promise<void> {
  await store.putCutover(site, journal === null ? null : JSON.stringify(journal));
}

/** Writes the journal of a new cutover unless the site already has one; false when another cutover got there first. */
export async function createJournal(store: Store, journal: CutoverJournal): Promise<boolean> {
  return store.createCutover(journal.site, JSON.stringify(journal));
}
