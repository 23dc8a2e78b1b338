// The MariaDB side of `SWITCHYARD_DEMO_DB=mysql`: a source and its GTID replica, started by the demo on
// free loopback ports in temp dirs (the same throw-away servers the tests use). The app servers use
// an account without READ_ONLY ADMIN, so the cutover's fence (read_only) stops them too.
import { ACCOUNTS, MariaDbServer, mariadbMissing } from '../../../test/support/mariadb-server';
import { MARIADB_NOTES_SCHEMA, mariadbNotes } from './mariadb-notes';
import type { ReplicatedPair } from './replicated-pair';

/** mariadb-install-db a source and a replica, seed `seedNotes` notes, replicate by GTID. */
export async function startMariaDbPair(seedNotes: number): Promise<ReplicatedPair> {
  const missing = mariadbMissing();
  if (missing) throw new Error(`SWITCHYARD_DEMO_DB=mysql: ${missing}`);
  const [source, replica] = (await MariaDbServer.startAll([{ serverId: 1 }, { serverId: 2, readOnly: true }])) as [
    MariaDbServer,
    MariaDbServer,
  ];
  try {
    await source.query('CREATE DATABASE app');
    await source.query(MARIADB_NOTES_SCHEMA);
    const seeds = Array.from({ length: seedNotes }, (_, n) => [`seed-${n}`, `note ${n}, written before the migration`]);
    if (seeds.length > 0) await source.query('INSERT INTO app.notes (id, text) VALUES ?', [seeds]);
    await replica.replicate(source);
    await replica.caughtUpWith(source);
  } catch (error) {
    await Promise.all([source.stop(), replica.stop()]);
    throw error;
  }
  return {
    sourceUrl: source.url,
    targetUrl: replica.url,
    sourceName: `MariaDB source mysql://${ACCOUNTS.app.user}@127.0.0.1:${source.port}/app`,
    targetName: `its GTID replica mysql://${ACCOUNTS.app.user}@127.0.0.1:${replica.port}/app`,
    moveLine: 'the replica caught up to the source and promoted',
    proofName: 'the promoted replica',
    notes: (side) => mariadbNotes((side === 'source' ? source : replica).urlFor('app', 'app')),
    async targetNoteIds() {
      return new Set((await replica.query('SELECT id FROM app.notes')).map((row) => String(row.id)));
    },
    async close() {
      await Promise.all([source.stop(), replica.stop()]);
    },
  };
}
