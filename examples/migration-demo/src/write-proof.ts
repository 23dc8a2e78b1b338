import { readNoteIds } from './guestbook-db';

/** The check that no acknowledged write was lost. */
export interface WriteProof {
  /** The database that was read (a file, or a URL without password). */
  readonly dbPath: string;
  /** Writes the app servers acknowledged (201/200 with the note's id). */
  readonly acknowledged: number;
  /** Of those, how many are in the database file. */
  readonly present: number;
  /** Acknowledged ids missing from the database file: lost writes. */
  readonly missing: readonly string[];
  /** Every note in the database file, acknowledged or not (the seed, writes whose answer was cut off). */
  readonly notesInDb: number;
}

/** Reads the database file directly and checks that every acknowledged write is in it. */
export function proveAcknowledgedWrites(dbPath: string, acknowledgedIds: Iterable<string>): WriteProof {
  return proveAgainst(readNoteIds(dbPath), dbPath, acknowledgedIds);
}

/** Checks that every acknowledged write is among the note ids `stored`, read from the database `dbPath` names. */
export function proveAgainst(stored: ReadonlySet<string>, dbPath: string, acknowledgedIds: Iterable<string>): WriteProof {
  const missing: string[] = [];
  let acknowledged = 0;
  for (const id of acknowledgedIds) {
    acknowledged += 1;
    if (!stored.has(id)) missing.push(id);
  }
  return { dbPath, acknowledged, present: acknowledged - missing.length, missing, notesInDb: stored.size };
}
