import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { MariaDbServer, mariadbMissing } from '../../../test/support/mariadb-server';
import { countItems as count, logicalPair, PostgresServer, postgresMissing } from '../../../test/support/postgres-server';
import { waitFor } from '../../../test/support/wait';
import { openDatabaseMove, type ReplicationKind } from '../src/index';

const execFileAsync = promisify(execFile);

/**
 * The cutover's database step as `switchyard cutover` runs it: preflight (which must detect `kind`)
 * on a move of its own, before maintenance; then, on another, fence, catch-up, promote.
 */
async function cutOver(sourceUrl: string, targetUrl: string, kind: ReplicationKind): Promise<void> {
  const checked = await openDatabaseMove(sourceUrl, targetUrl);
  try {
    assert.equal((await checked.preflight({ maxLagMs: 5000, maxTransactionAgeMs: 5000 })).kind, kind);
  } finally {
    await checked.close();
  }
  const move = await openDatabaseMove(sourceUrl, targetUrl);
  try {
    await move.fence();
    await move.waitFor(await move.catchUpPosition(), { timeoutMs: 10_000 });
    await move.promote({ timeoutMs: 10_000 });
  } finally {
    await move.close();
  }
}

// The way back after a streaming cutover, as packages/db/README.md and the README document it: stop
// the old primary, pg_rewind it against the promoted server (-R: standby.signal and primary_conninfo),
// start it; it follows the new primary, and a cutover back is the same move with the URLs swapped.
describe('PostgreSQL streaming replication: the documented way back after a promotion', { skip: postgresMissing }, () => {
  let old: PostgresServer;
  let promoted: PostgresServer;

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
    await cutOver(old.url(), promoted.url(), 'postgres-streaming');
    // Writes the old server does not have: without the way back they would be lost by going back.
    await promoted.query("INSERT INTO items (note) SELECT 'after' FROM generate_series(1, 50)");

    await old.shutDown();
    await old.rewindFrom(promoted);
    assert.equal(await old.inRecovery(), true, 'the rewound server is a standby');
    await waitFor(async () => (await count(old, 'after')) === 50, {
      timeoutMs: 15_000,
      what: 'the rewound server to replay the new writes',
    });
    await promoted.query("INSERT INTO items (note) VALUES ('streamed')");
    await waitFor(async () => (await count(old, 'streamed')) === 1, { timeoutMs: 15_000, what: 'the rewound server to stream' });

    // The cutover back: the same move with the URLs swapped; its preflight detects the replication.
    await cutOver(promoted.url(), old.url(), 'postgres-streaming');
    assert.equal(await old.inRecovery(), false);
    await old.query("INSERT INTO items (note) VALUES ('back')");
    for (const note of ['before', 'after', 'streamed', 'back']) {
      assert.equal(await count(old, note), { before: 100, after: 50, streamed: 1, back: 1 }[note], note);
    }
  });
});

// The way back after a logical cutover, as documented: before maintenance ends, the new server
// publishes everything and the old one subscribes to it without copying; writes made on the new
// server then reach the old one, and a cutover back (the same move, URLs swapped) loses nothing.
describe('PostgreSQL logical replication: the documented way back after a promotion', { skip: postgresMissing }, () => {
  let old: PostgresServer;
  let promoted: PostgresServer;
  before(async () => {
    [old, promoted] = await logicalPair("INSERT INTO items (note) SELECT 'before' FROM generate_series(1, 100)");
  });

  after(async () => {
    await Promise.all([old?.stop(), promoted?.stop()]);
  });

  test('the old server subscribes to the new one before maintenance ends; the cutover back loses nothing', async () => {
    await cutOver(old.url('app'), promoted.url('app'), 'postgres-logical');
    await promoted.query('CREATE PUBLICATION back FOR ALL TABLES', [], 'app');
    // The recipe's own command: the old server is fenced (default_transaction_read_only), so psql's
    // session lifts it for itself (PGOPTIONS); CREATE SUBSCRIPTION cannot run in a transaction block.
    await execFileAsync(
      'psql',
      [
        `host=127.0.0.1 port=${old.port} user=postgres dbname=app`,
        '--no-psqlrc',
        '--set=ON_ERROR_STOP=1',
        '--command',
        `CREATE SUBSCRIPTION back CONNECTION 'host=127.0.0.1 port=${promoted.port} dbname=app user=postgres' PUBLICATION back WITH (copy_data = false)`,
      ],
      { env: { PATH: process.env.PATH, PGOPTIONS: '-c default_transaction_read_only=off' }, timeout: 20_000 },
    );
    // Every other client of the old server is still fenced: a stray writer cannot put rows there.
    await assert.rejects(old.query("INSERT INTO items (note) VALUES ('stray')", [], 'app'), /read-only transaction/);
    // Maintenance ends: the site writes to the new server.
    await promoted.query("INSERT INTO items (note) SELECT 'after' FROM generate_series(1, 50)", [], 'app');
    await waitFor(async () => (await count(old, 'after', 'app')) === 50, {
      timeoutMs: 15_000,
      what: 'the old server to apply the new writes',
    });

    await cutOver(promoted.url('app'), old.url('app'), 'postgres-logical');
    // The sequence was carried back at promotion: a new row takes an id after every row, no conflict.
    await old.query("INSERT INTO items (note) VALUES ('back')", [], 'app');
    for (const note of ['before', 'after', 'back']) {
      assert.equal(await count(old, note, 'app'), { before: 100, after: 50, back: 1 }[note], note);
    }
  });
});

// The MariaDB way back documented in packages/db/README.md, after a cutover from binlog file-and-offset
// replication (the GTID case is in mysql.test.ts): the fenced old server replicates the promoted one
// with MASTER_USE_GTID=current_pos, which works because MariaDB's binlog carries GTIDs either way;
// the cutover back is then GTID replication and loses nothing.
describe('MariaDB: the documented way back after a file-and-offset cutover', { skip: mariadbMissing() }, () => {
  let old: MariaDbServer;
  let promoted: MariaDbServer;
  const notes = async (server: MariaDbServer, note: string) =>
    Number(await server.value('SELECT COUNT(*) FROM app.items WHERE note = ?', [note]));

  before(async () => {
    [old, promoted] = (await MariaDbServer.startAll([{ serverId: 1 }, { serverId: 2, readOnly: true }])) as [MariaDbServer, MariaDbServer];
    // From the source's binlog position now: everything written after this replicates.
    await promoted.replicate(old, { from: 'file' });
    await old.query('CREATE DATABASE app');
    await old.query('CREATE TABLE app.items (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(20) NOT NULL)');
    await old.query("INSERT INTO app.items (note) VALUES ('before'), ('before'), ('before')");
    await promoted.executedAllOf(old);
  });

  after(async () => {
    await Promise.all([old?.stop(), promoted?.stop()]);
  });

  test('the old server follows the promoted one with MASTER_USE_GTID=current_pos; the cutover back loses nothing', async () => {
    await cutOver(old.url, promoted.url, 'mysql-binlog');
    await promoted.query("INSERT INTO app.items (note) VALUES ('after'), ('after')");

    await old.replicate(promoted, { from: 'current_pos' });
    await old.caughtUpWith(promoted);
    assert.equal(await notes(old, 'after'), 2, 'the writes made on the promoted server reached the old one');
    assert.equal(Number(await old.value('SELECT @@read_only')), 1, 'the old server stays fenced while it follows');

    await cutOver(promoted.url, old.url, 'mysql-gtid');
    // read_only does not stop this test's administrator account, so the fence is checked by name.
    assert.equal(Number(await old.value('SELECT @@read_only')), 0, 'promotion lifted the old fence');
    assert.equal(Number(await promoted.value('SELECT @@read_only')), 1, 'the server moved away from is fenced now');
    await old.query("INSERT INTO app.items (note) VALUES ('back')");
    assert.deepEqual(
      { before: await notes(old, 'before'), after: await notes(old, 'after'), back: await notes(old, 'back') },
      { before: 3, after: 2, back: 1 },
    );
  });
});
