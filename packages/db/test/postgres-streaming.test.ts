import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { countItems, PostgresServer, postgresMissing } from '../../../test/support/postgres-server';
import { waitFor } from '../../../test/support/wait';
import { type DatabaseMove, isDatabaseError, openDatabaseMove } from '../src/index';

// A primary and a streaming standby (pg_basebackup -R), shared by the tests of this file; the last
// test promotes the standby. Another unrelated cluster serves as the "mistyped URL".
describe('PostgreSQL streaming replication', { skip: postgresMissing }, () => {
  let primary: PostgresServer;
  let standby: PostgresServer;
  let other: PostgresServer;
  const limits = { maxLagMs: 5000, maxTransactionAgeMs: 5000 };

  before(async () => {
    [primary, other] = await Promise.all([PostgresServer.primary(), PostgresServer.primary()]);
    await primary.query('CREATE TABLE items (id serial PRIMARY KEY, note text NOT NULL)');
    standby = await primary.standby();
  });

  after(async () => {
    await Promise.all([primary?.stop(), standby?.stop(), other?.stop()]);
  });

  /** What a refused preflight must leave exactly as it was. */
  async function state() {
    const [source, target] = await Promise.all([
      primary.query("SELECT pg_is_in_recovery() AS recovery, current_setting('default_transaction_read_only') AS read_only"),
      standby.query("SELECT pg_is_in_recovery() AS recovery, current_setting('default_transaction_read_only') AS read_only"),
    ]);
    return { source, target };
  }

  async function caughtUp(): Promise<void> {
    const [{ lsn }] = (await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
    await waitFor(async () => (await standby.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]))[0]?.ok, {
      timeoutMs: 15_000,
      what: 'the standby to catch up',
    });
  }

  async function refusal(source: string, target: string, pattern: RegExp, preflightLimits = limits): Promise<void> {
    const before = await state();
    let move: DatabaseMove | undefined;
    try {
      await assert.rejects(
        (async () => {
          move = await openDatabaseMove(source, target);
          await move.preflight(preflightLimits);
        })(),
        (error: unknown) => {
          assert.ok(isDatabaseError(error, 'SWITCHYARD_ERR_DB_PREFLIGHT'), String(error));
          assert.match(error.message, pattern);
          assert.doesNotMatch(error.message, /hunter2/);
          return true;
        },
      );
    } finally {
      await move?.close();
    }
    assert.deepEqual(await state(), before, 'a refused move changes nothing');
  }

  test('detects streaming replication and passes the guardrails; the URLs it shows have no password', async () => {
    await primary.query("INSERT INTO items (note) VALUES ('before')");
    const move = await openDatabaseMove(primary.url('postgres', 'hunter2'), standby.url('postgres', 'hunter2'));
    try {
      assert.equal(move.kind, 'postgres-streaming');
      assert.equal(move.source, `postgres://postgres:***@127.0.0.1:${primary.port}/postgres`);
      assert.doesNotMatch(move.target, /hunter2/);
      const report = await move.preflight(limits);
      assert.equal(report.kind, 'postgres-streaming');
      assert.ok(report.lagMs !== null && report.lagMs < limits.maxLagMs, `lag ${report.lagMs}`);
      assert.equal(typeof report.lagBytes, 'number');
      assert.ok(
        report.checks.some((line) => /system identifier/.test(line)),
        report.checks.join('\n'),
      );
      assert.ok(
        report.checks.some((line) => /streams from the source/.test(line)),
        report.checks.join('\n'),
      );
      assert.doesNotMatch(report.checks.join('\n'), /hunter2/);
    } finally {
      await move.close();
    }
  });

  test('refuses a wrong target or source: another cluster, the source itself, a server nothing replicates to', async () => {
    await refusal(other.url(), standby.url(), /standby of another cluster/);
    await refusal(primary.url('postgres', 'hunter2'), primary.url('postgres', 'hunter2'), /same server/);
    await refusal(primary.url(), other.url(), /nothing replicates the source to the target/);
    await refusal(standby.url(), primary.url(), /the source .* is itself a standby/);
  });

  test('refuses when replication is stopped', async () => {
    const [{ conninfo }] = (await standby.query<{ conninfo: string }>("SELECT current_setting('primary_conninfo') AS conninfo")) as [
      { conninfo: string },
    ];
    await standby.query("ALTER SYSTEM SET primary_conninfo = ''");
    await standby.query('SELECT pg_reload_conf()');
    try {
      await waitFor(async () => (await standby.query('SELECT 1 FROM pg_stat_wal_receiver')).length === 0, {
        what: 'the WAL receiver to stop',
      });
      await refusal(primary.url(), standby.url(), /replication is not running/);
    } finally {
      await standby.query('ALTER SYSTEM SET primary_conninfo = $1'.replace('$1', pg.escapeLiteral(conninfo)));
      await standby.query('SELECT pg_reload_conf()');
      await waitFor(async () => (await standby.query("SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'")).length === 1, {
        timeoutMs: 15_000,
        what: 'streaming to resume',
      });
    }
  });

  test('refuses when the lag is over the limit, measured by positions', async () => {
    await standby.query("ALTER SYSTEM SET recovery_min_apply_delay = '1h'");
    await standby.query('SELECT pg_reload_conf()');
    try {
      await primary.query("INSERT INTO items (note) VALUES ('delayed')");
      await refusal(
        primary.url(),
        standby.url(),
        /replication lag is over the limit: .* after 300 ms \(replayed up to .*, \d+ bytes behind\)/,
        {
          ...limits,
          maxLagMs: 300,
        },
      );
    } finally {
      await standby.query('ALTER SYSTEM RESET recovery_min_apply_delay');
      await standby.query('SELECT pg_reload_conf()');
      await caughtUp();
    }
  });

  test('refuses while a write transaction on the source is older than the limit', async () => {
    const writer = new pg.Client({ connectionString: primary.url() });
    await writer.connect();
    try {
      await writer.query("BEGIN; INSERT INTO items (note) VALUES ('held')");
      await waitFor(
        async () =>
          (await primary.query("SELECT 1 FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND xact_start < now() - interval '150 ms'"))
            .length > 0,
        { what: 'the transaction to age' },
      );
      await refusal(
        primary.url(),
        standby.url(),
        /1 write transaction\(s\) on the source open longer than 100 ms would hold the drain: pid \d+/,
        {
          ...limits,
          maxTransactionAgeMs: 100,
        },
      );
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
  });

  test('fence: the source refuses writes from every client and ends transactions from before; unfence restores writes', async () => {
    const move = await openDatabaseMove(primary.url(), standby.url());
    const early = new pg.Client({ connectionString: primary.url() });
    early.on('error', () => undefined);
    await early.connect();
    try {
      // A worker that began writing before the fence must not commit after it.
      await early.query("BEGIN; INSERT INTO items (note) VALUES ('uncommitted')");
      await move.fence();
      await assert.rejects(primary.query("INSERT INTO items (note) VALUES ('fenced')"), /read-only transaction/);
      await assert.rejects(early.query('COMMIT'), /terminat|connection error/i);
      assert.equal((await primary.query("SELECT 1 FROM items WHERE note IN ('uncommitted', 'fenced')")).length, 0);
      // The fence is configuration of the source only: it does not travel to the standby.
      const [{ read_only }] = (await standby.query(
        "SELECT setting AS read_only FROM pg_settings WHERE name = 'default_transaction_read_only'",
      )) as [{ read_only: string }];
      assert.equal(read_only, 'off');
      await move.unfence();
      await primary.query("INSERT INTO items (note) VALUES ('unfenced')");
    } finally {
      await move.unfence();
      await early.end().catch(() => undefined);
      await move.close();
    }
  });

  test('catch-up and promotion: every committed write is on the target, which then accepts writes', async () => {
    const move = await openDatabaseMove(primary.url(), standby.url());
    try {
      await move.preflight(limits);
      // Writes right up to the fence: the position read after it must include all of them.
      let committed = 0;
      let stop = false;
      const writing = (async () => {
        while (!stop) {
          await primary.query("INSERT INTO items (note) VALUES ('load')").then(
            () => committed++,
            () => undefined,
          );
        }
      })();
      try {
        await waitFor(() => committed >= 50, { timeoutMs: 15_000, what: 'some writes' });
        await move.fence();
      } finally {
        stop = true;
        await writing;
      }
      const position = await move.catchUpPosition();
      assert.equal(position.kind, 'postgres-streaming');
      assert.match(position.text, /^[0-9A-F]+\/[0-9A-F]+$/);
      await move.waitFor(position, { timeoutMs: 10_000 });
      await move.promote({ timeoutMs: 10_000 });
      assert.equal(await countItems(standby, 'load'), committed);
      assert.equal(await countItems(primary, 'load'), committed);
      assert.equal(await standby.inRecovery(), false);
      await standby.query("INSERT INTO items (note) VALUES ('on the new primary')");
    } finally {
      await move.close();
    }
  });
});
