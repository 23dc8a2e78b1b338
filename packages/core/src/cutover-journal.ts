/**
 * The format of a cutover journal, the value of `switchyard:cutover:<site>` that `Store.getCutover`,
 * `putCutover` and `createCutover` move as a string. It lives next to those methods so the stored
 * format has one home; which steps exist and what they record is the CLI's business (its step
 * definitions), so `step` is a plain name here and each step keeps its own entry in `steps`.
 */

/** What one step keeps in the journal: flat JSON values only, so any reader can print it. */
export type CutoverJournalEntry = Readonly<Record<string, string | number | boolean | null>>;

/**
 * The record of an unfinished cutover: enough for `status` to say what is going on and for
 * `--resume` or `--abort` to finish or undo it from another process. Shell commands are not stored
 * (they may carry passwords); resume asks for them again.
 */
export interface CutoverJournal {
  readonly id: string;
  readonly site: string;
  /** The step running, or the one that was running when the process died. */
  readonly step: string;
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
  /** When maintenance went on, for the maintenance window of a resumed cutover. */
  readonly maintenanceAt?: string;
  /** Each step's own record, by step name (e.g. that it has a command resume must be given again). */
  readonly steps: Readonly<Record<string, CutoverJournalEntry>>;
}

/** The journal as stored. */
export function serializeCutoverJournal(journal: CutoverJournal): string {
  return JSON.stringify(journal);
}

/**
 * Reads a stored journal; undefined when it is not one (not JSON, or `id`, `site`, `step` or `to`
 * missing). Journals written before step entries existed carry `hasSync`/`hasVerify` instead of
 * `steps`; they are read as the `sync` and `verify` entries, so a resume still asks for the commands.
 */
export function parseCutoverJournal(raw: string): CutoverJournal | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const journal = value as Partial<CutoverJournal> & { hasSync?: unknown; hasVerify?: unknown };
  for (const field of ['id', 'site', 'step', 'to'] as const) if (typeof journal[field] !== 'string') return undefined;
  if (typeof journal.steps === 'object' && journal.steps !== null) return journal as CutoverJournal;
  const { hasSync, hasVerify, ...rest } = journal;
  return {
    ...(rest as Omit<CutoverJournal, 'steps'>),
    steps: { ...(hasSync ? { sync: { task: true } } : {}), ...(hasVerify ? { verify: { task: true } } : {}) },
  };
}
