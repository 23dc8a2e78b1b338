// The two databases of a replication demo (`SWITCHYARD_DEMO_DB=postgres` or `mysql`): the old app
// server's, and its replica for the new one, started by the demo; the cutover's database step moves
// between them. One interface, one file per engine.
import type { NotesStore } from './guestbook-db';

/** A source with the seeded guestbook and its replica; close() stops both and removes their files. */
export interface ReplicatedPair {
  /** `--db-source` (may carry a password: print `sourceName`, never this). */
  readonly sourceUrl: string;
  /** `--db-target`, read-only until the cutover promotes it. */
  readonly targetUrl: string;
  /** What the source and the target are, for the demo's header (no password). */
  readonly sourceName: string;
  readonly targetName: string;
  /** What the database step does, for the cutover line, and what the proof reads. */
  readonly moveLine: string;
  readonly proofName: string;
  /** The guestbook's store on the source (old app server) or the target (new app server). */
  notes(side: 'source' | 'target'): NotesStore;
  /** Every note id on the target, read with a fresh connection. */
  targetNoteIds(): Promise<Set<string>>;
  close(): Promise<void>;
}

/** Starts the pair of the given engine with `seedNotes` notes on the source, replicated to the target. */
export async function startReplicatedPair(database: 'postgres' | 'mysql', seedNotes: number): Promise<ReplicatedPair> {
  if (database === 'postgres') return (await import('./postgres-pair.js')).startPostgresPair(seedNotes);
  return (await import('./mariadb-pair.js')).startMariaDbPair(seedNotes);
}
