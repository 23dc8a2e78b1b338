// The PostgreSQL side of `SWITCHYARD_DEMO_DB=postgres`: a primary and its streaming standby, started
// by the demo on free loopback ports in temp dirs (the same throw-away servers the tests use).
import { PostgresServer, postgresMissing } from '../../../test/support/postgres-server';
import { NOTES_SCHEMA, postgresNotes } from './postgres-notes';
import type { ReplicatedPair } from './replicated-pair';

/** initdb a primary, seed `seedNotes` notes, make a standby with pg_basebackup -R. */
export async function startPostgresPair(seedNotes: number): Promise<ReplicatedPair> {
  if (postgresMissing) throw new Error(`SWITCHYARD_DEMO_DB=postgres: ${postgresMissing}`);
  const primary = await PostgresServer.primary();
  let standby: PostgresServer | undefined;
  try {
    await primary.query(NOTES_SCHEMA);
    await primary.query(
      "INSERT INTO notes (id, text) SELECT 'seed-' || n, 'note ' || n || ', written before the migration' FROM generate_series(0, $1 - 1) AS n",
      [seedNotes],
    );
    standby = await primary.standby();
  } catch (error) {
    await Promise.all([primary.stop(), standby?.stop()]);
    throw error;
  }
  const target = standby;
  return {
    sourceUrl: primary.url(),
    targetUrl: target.url(),
    sourceName: `PostgreSQL primary ${primary.url()}`,
    targetName: `its streaming standby ${target.url()}`,
    moveLine: 'the standby caught up to the primary and promoted',
    proofName: 'the promoted standby',
    notes: (side) => postgresNotes(side === 'source' ? primary.url() : target.url()),
    async targetNoteIds() {
      return new Set((await target.query<{ id: string }>('SELECT id FROM notes')).map((row) => row.id));
    },
    async close() {
      await Promise.all([primary.stop(), target.stop()]);
    },
  };
}
