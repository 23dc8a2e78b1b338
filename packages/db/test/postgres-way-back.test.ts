import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgresServer, postgresMissing } from '../../../test/support/postgres-server';
import { waitFor } from '../../../test/support/wait';
import { openDatabaseMove } from '../src/index';

// The way back after a streaming cutover, as packages/db/README.md and the README document it: stop
// the old primary, pg_rewind it against the promoted server (-R: standby.signal and primary_conninfo),
// start it; it follows the new primary, and a cutover back is the same move with the URLs swapped.
describe('PostgreSQL streaming replication: the documented way back after a promotion', { skip: postgresMissing }, () => {
  let old: PostgresServer;
  let promoted: PostgresServer;
  const limits = { maxLagMs: 5000, maxTransactionAgeMs: 5000 };
  const count = async (server: PostgresServer, note: string) =>
    Number((await server.query<{ n: string }>('SELECT count(*) AS n FROM items WHERE note = $1', [note]))[0]?.n);
  const inRecovery = async (server: PostgresServer) =>
    (await server.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery'))[0]?.recovery;

  /** The cutover's database step, in its order: preflight, fence, catch-up, promote. */
  async function cutOver(source: PostgresServer, target: PostgresServer): Promise<void> {
    const move = await openDatabaseMove(source.url(), target.url());
    try {
      const report = await move.preflight(limits);
      assert.equal(report.kind, 'postgres-streaming');
      await move.fence();
      await move.waitFor(await move.catchUpPosition(), { timeoutMs: 10_000 });
      await move.promote({ timeoutMs: 10_000 });
    } finally {
      await move.close();
    }
  }

  before(async () => {
    old = await PostgresServer.primary();
    await old.query('CREATE TABLE items (id serial PRIMARY KEY, note text NOT NULL)');
    await old.query("INSERT INTO items (note) SELECT 'before' FROM generate_series(1, 100)");
    promoted = await old.standby();
    // pg_rewind reads the old primary's WAL from the last checkpoint the two servers share; its
    // shutdown checkpoint would recycle it. Both servers keep it, as the way back asks.
    for (const server of [old, promoted]) {
      await server.query("ALTER SYSTEM SET wal_keep_size = '256MB'");
      await server.query('SELECT pg_reload_conf()');
    }
  });

  after(async () => {
    await Promise.all([old?.stop(), promoted?.stop()]);
  });

  test('pg_rewind makes the old primary follow the new one; the cutover back loses nothing', async () => {
    await cutOver(old, promoted);
    // Writes the old server does not have: without the way back they would be lost by going back.
    await promoted.query("INSERT INTO items (note) SELECT 'after' FROM generate_series(1, 50)");

    await old.shutDown();
    await old.rewindFrom(promoted);
    assert.equal(await inRecovery(old), true, 'the rewound server is a standby');
    await waitFor(async () => (await count(old, 'after')) === 50, {
      timeoutMs: 15_000,
      what: 'the rewound server to replay the new writes',
    });
    await promoted.query("INSERT INTO items (note) VALUES ('streamed')");
    await waitFor(async () => (await count(old, 'streamed')) === 1, { timeoutMs: 15_000, what: 'the rewound server to stream' });

    // The cutover back: the same move with the URLs swapped; its preflight detects the replication.
    await cutOver(promoted, old);
    assert.equal(await inRecovery(old), false);
    await old.query("INSERT INTO items (note) VALUES ('back')");
    for (const note of ['before', 'after', 'streamed', 'back']) {
      assert.equal(await count(old, note), { before: 100, after: 50, streamed: 1, back: 1 }[note], note);
    }
  });
});
