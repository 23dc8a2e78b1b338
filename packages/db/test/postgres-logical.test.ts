import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { logicalPair, type PostgresServer, postgresMissing } from '../../../test/support/postgres-server';
import { waitFor } from '../../../test/support/wait';
import { type DatabaseMove, isDatabaseError, openDatabaseMove } from '../src/index';

// Two clusters with wal_level=logical: the target's database `app` subscribes to a publication of
// the source's `app`. A serial primary key proves the sequences are carried at promotion.
describe('PostgreSQL logical replication', { skip: postgresMissing }, () => {
  let source: PostgresServer;
  let target: PostgresServer;
  const limits = { maxLagMs: 5000, maxTransactionAgeMs: 5000 };
  before(async () => {
    [source, target] = await logicalPair("INSERT INTO items (note) SELECT 'seed ' || n FROM generate_series(1, 5) AS n");
  });

  after(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  async function state() {
    const [sourceState, targetState] = await Promise.all([
      source.query("SELECT current_setting('default_transaction_read_only') AS read_only, last_value FROM items_id_seq", [], 'app'),
      target.query('SELECT s.subenabled, q.last_value FROM pg_subscription AS s, items_id_seq AS q', [], 'app'),
    ]);
    return { sourceState, targetState };
  }

  async function refusal(sourceUrl: string, targetUrl: string, pattern: RegExp, preflightLimits = limits): Promise<void> {
    const before = await state();
    let move: DatabaseMove | undefined;
    try {
      await assert.rejects(
        (async () => {
          move = await openDatabaseMove(sourceUrl, targetUrl);
          await move.preflight(preflightLimits);
        })(),
        (error: unknown) => {
          assert.ok(isDatabaseError(error, 'SWITCHYARD_ERR_DB_PREFLIGHT'), String(error));
          assert.match(error.message, pattern);
          return true;
        },
      );
    } finally {
      await move?.close();
    }
    assert.deepEqual(await state(), before, 'a refused move changes nothing');
  }

  test('detects logical replication and passes the guardrails', async () => {
    const move = await openDatabaseMove(source.url('app'), target.url('app'));
    try {
      assert.equal(move.kind, 'postgres-logical');
      const report = await move.preflight(limits);
      assert.equal(report.kind, 'postgres-logical');
      assert.ok(report.lagMs !== null && report.lagMs < limits.maxLagMs);
      assert.ok(
        report.checks.some((line) => /subscription follow/.test(line)),
        report.checks.join('\n'),
      );
    } finally {
      await move.close();
    }
  });

  test('refuses a source the subscription does not replicate from (another database, the target itself)', async () => {
    await refusal(source.url('postgres'), target.url('app'), /do(es)? not replicate from the source/);
    await refusal(target.url('app'), target.url('app'), /same server/);
  });

  test('refuses a target configured read-only other than by a fence (ALTER DATABASE … SET), changing nothing', async () => {
    // Only ALTER SYSTEM's setting, which a fence leaves on the old server, is lifted at promotion
    // (packages/db/test/way-back.test.ts); a database's own setting is the operator's.
    await target.query('ALTER DATABASE app SET default_transaction_read_only = on');
    try {
      await refusal(source.url('app'), target.url('app'), /configured read-only \(default_transaction_read_only = on, from database\)/);
    } finally {
      await target.query('ALTER DATABASE app RESET default_transaction_read_only');
    }
  });

  test('refuses when the subscription is disabled', async () => {
    await target.query('ALTER SUBSCRIPTION follow DISABLE', [], 'app');
    try {
      await refusal(source.url('app'), target.url('app'), /replication is not running: subscription follow on the target is disabled/);
    } finally {
      await target.query('ALTER SUBSCRIPTION follow ENABLE', [], 'app');
      await waitFor(
        async () =>
          (await source.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'follow' AND active", [], 'app')).length === 1 &&
          (await target.query('SELECT 1 FROM pg_stat_subscription WHERE pid IS NOT NULL', [], 'app')).length === 1,
        { timeoutMs: 15_000, what: 'the subscription to run again' },
      );
    }
  });

  test('refuses when the target is too far behind (its apply is blocked)', async () => {
    const blocker = new pg.Client({ connectionString: target.url('app') });
    await blocker.connect();
    try {
      await blocker.query('BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
      await source.query("INSERT INTO items (note) VALUES ('blocked')", [], 'app');
      await refusal(source.url('app'), target.url('app'), /replication lag is over the limit/, { ...limits, maxLagMs: 300 });
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
  });

  test('catch-up and promotion: every committed row arrives, sequences follow, the subscription is disabled', async () => {
    const move = await openDatabaseMove(source.url('app'), target.url('app'));
    try {
      await move.preflight(limits);
      await source.query("INSERT INTO items (note) SELECT 'load ' || n FROM generate_series(1, 200) AS n", [], 'app');
      await move.fence();
      const position = await move.catchUpPosition();
      assert.equal(position.kind, 'postgres-logical');
      await move.waitFor(position, { timeoutMs: 10_000 });
      await move.promote({ timeoutMs: 10_000 });
      const rows = async (server: PostgresServer) =>
        (await server.query<{ ids: string }>("SELECT string_agg(id::text, ',' ORDER BY id) AS ids FROM items", [], 'app'))[0]?.ids;
      assert.equal(await rows(target), await rows(source));
      const [{ enabled }] = (await target.query<{ enabled: boolean }>(
        "SELECT subenabled AS enabled FROM pg_subscription WHERE subname = 'follow'",
        [],
        'app',
      )) as [{ enabled: boolean }];
      assert.equal(enabled, false);
      // Without the sequence copy this insert would take id 1 and collide with the first seed row.
      const [{ id }] = (await target.query<{ id: number }>(
        "INSERT INTO items (note) VALUES ('on the new server') RETURNING id",
        [],
        'app',
      )) as [{ id: number }];
      assert.equal(id, 5 + 1 + 200 + 1);
    } finally {
      await move.unfence();
      await move.close();
    }
  });
});
