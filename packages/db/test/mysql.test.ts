// The MySQL/MariaDB engine against real servers started here: a source, its GTID replica and a
// standalone server (not a replica of anything), shared by the tests of this file, which run in order
// and leave the pair replicating for the next one; the last test promotes the replica. One file
// (over 300 lines) because starting the servers costs seconds: every MySQL test shares them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Connection } from 'mysql2/promise';
import { ACCOUNTS, MariaDbServer, mariadbMissing } from '../../../test/support/mariadb-server';
import { waitFor } from '../../../test/support/wait';
import { type DatabaseMove, isDatabaseError, openDatabaseMove } from '../src/index';
import { connectionOptions, MysqlSession } from '../src/mysql/connection';
import { detectDialect } from '../src/mysql/dialect';
import { lagBytes } from '../src/mysql/positions';
import { replicaStatusOf } from '../src/mysql/replication';

const LIMITS = { maxLagMs: 2000, maxTransactionAgeMs: 5000 };
const SECRET = ACCOUNTS.admin.password;

/** Asserts a refusal with this code and message, and that no password leaked into it. */
function refusal(code: string, message: RegExp) {
  return (error: unknown) => {
    assert.ok(isDatabaseError(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, new RegExp(SECRET));
    return true;
  };
}

test('mysql URLs: options parsed, unknown parameters refused with SWITCHYARD_ERR_DB_URL, password never in the message', () => {
  const options = connectionOptions('mariadb://app:p%40ss@db.example:3307/shop?ssl=true', 'source');
  assert.deepEqual(
    [options.host, options.port, options.user, options.password, options.database],
    ['db.example', 3307, 'app', 'p@ss', 'shop'],
  );
  assert.deepEqual(options.ssl, {});
  assert.equal(connectionOptions('mysql://root@db', 'target').port, 3306);
  for (const url of ['mysql://u:hunter2@db/app?sslmode=off', 'mysql://u:hunter2@db/app/more', 'mysql://u:hunter2@db/app?ssl=maybe']) {
    assert.throws(
      () => connectionOptions(url, 'source'),
      (error: unknown) => {
        assert.ok(isDatabaseError(error, 'SWITCHYARD_ERR_DB_URL'), String(error));
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  }
});

describe('MariaDB replication: detect, guard, fence, catch up, promote', { skip: mariadbMissing() }, () => {
  let source: MariaDbServer;
  let replica: MariaDbServer;
  let standalone: MariaDbServer;
  const moves: DatabaseMove[] = [];
  const open = async (from = source.url, to = replica.url) => {
    const move = await openDatabaseMove(from, to, { connectTimeoutMs: 5000, queryTimeoutMs: 5000 });
    moves.push(move);
    return move;
  };
  /** Replication state of the replica that a refusal must leave as it was. */
  const replicaState = async () => {
    const status = await replica.replicaStatus();
    return { io: status?.Slave_IO_Running, sql: status?.Slave_SQL_Running, readOnly: Number(await replica.value('SELECT @@read_only')) };
  };

  /** The replica's executed binlog file and the bytes of the source's binlog it has not executed (positions.ts). */
  const bytesBehind = async () => {
    const sessions = [source.url, replica.url].map(
      (url, index) => new MysqlSession(url, index ? 'target' : 'source', { connectTimeoutMs: 5000, queryTimeoutMs: 5000 }),
    );
    const [sourceSession, replicaSession] = sessions as [MysqlSession, MysqlSession];
    try {
      const status = await replicaStatusOf(replicaSession, await detectDialect(replicaSession));
      return { file: status.executedFile, bytes: await lagBytes(sourceSession, await detectDialect(sourceSession), status) };
    } finally {
      await Promise.all(sessions.map((session) => session.close()));
    }
  };

  before(async () => {
    [source, replica, standalone] = (await MariaDbServer.startAll([{ serverId: 1 }, { serverId: 2, readOnly: true }, { serverId: 3 }])) as [
      MariaDbServer,
      MariaDbServer,
      MariaDbServer,
    ];
    await source.query('CREATE DATABASE app');
    await source.query(
      'CREATE TABLE app.writes (id INT AUTO_INCREMENT PRIMARY KEY, client VARCHAR(20) NOT NULL, n INT NOT NULL, UNIQUE (client, n))',
    );
    await replica.replicate(source);
    // Every event: the first test finds no byte of binlog behind.
    await replica.executedAllOf(source);
  });

  after(async () => {
    await Promise.all(moves.map((move) => move.close()));
    await Promise.all([source, replica, standalone].map((server) => server?.stop()));
  });

  test('detects GTID replication and passes preflight on a healthy pair; URLs are printed without the password', async () => {
    const move = await open();
    assert.equal(move.kind, 'mysql-gtid');
    assert.equal(move.source, `mysql://switchyard:***@127.0.0.1:${source.port}/`);
    assert.equal(move.target, `mysql://switchyard:***@127.0.0.1:${replica.port}/`);
    const report = await move.preflight(LIMITS);
    assert.equal(report.kind, 'mysql-gtid');
    assert.ok(report.lagMs !== null && report.lagMs < LIMITS.maxLagMs, `lag ${report.lagMs}`);
    assert.equal(report.lagBytes, 0);
    assert.match(report.checks.join('\n'), /server_id 1 → 2, GTID Slave_Pos.*lists it as its replica/);
    assert.match(report.checks.join('\n'), /no write transaction or DDL on the source open longer than 5000 ms/);
    // The test's own root session holds READ_ONLY ADMIN: MariaDB's read_only would not stop it, and preflight says so.
    assert.match(report.checks.join('\n'), /read_only would not stop these accounts .*: root \(1 session\);/);
    assert.doesNotMatch(report.checks.join('\n'), new RegExp(SECRET));
  });

  test('refuses a wrong target (a standalone server, the source itself) and a wrong source, changing nothing', async () => {
    const was = await replicaState();
    await assert.rejects(open(source.url, standalone.url), refusal('SWITCHYARD_ERR_DB_PREFLIGHT', /is not a replica/));
    await assert.rejects(open(source.url, source.url), refusal('SWITCHYARD_ERR_DB_PREFLIGHT', /are the same server \(server_id 1\)/));
    // A mistyped source: the replica follows another server.
    await assert.rejects(
      open(standalone.url, replica.url),
      refusal('SWITCHYARD_ERR_DB_PREFLIGHT', new RegExp(`replicates from 127\\.0\\.0\\.1:${source.port}, not from the source`)),
    );
    await assert.rejects(
      open(source.url.replace(SECRET, 'wrong'), replica.url),
      refusal('SWITCHYARD_ERR_DB_PREFLIGHT', /cannot connect to the source database mysql:\/\/switchyard:\*\*\*@.*Access denied/),
    );
    assert.deepEqual(await replicaState(), was);
    assert.equal(Number(await source.value('SELECT @@read_only')), 0);
  });

  test('refuses when replication is stopped (both threads, or only the SQL thread while the source writes), changing nothing', async () => {
    const move = await open();
    try {
      await replica.query('STOP SLAVE');
      await assert.rejects(
        move.preflight(LIMITS),
        refusal('SWITCHYARD_ERR_DB_PREFLIGHT', /is not running \(I\/O thread No, SQL thread No\)/),
      );
      assert.deepEqual(await replicaState(), { io: 'No', sql: 'No', readOnly: 1 });
      await replica.query('START SLAVE IO_THREAD');
      await source.query("INSERT INTO app.writes (client, n) VALUES ('stopped', 1)");
      await assert.rejects(move.preflight(LIMITS), refusal('SWITCHYARD_ERR_DB_PREFLIGHT', /SQL thread No/));
      assert.equal((await replicaState()).sql, 'No');
    } finally {
      await replica.query('START SLAVE');
    }
    await replica.waitReplicating();
    await replica.caughtUpWith(source);
    await move.preflight(LIMITS);
  });

  test('refuses when the replica lags more than maxLagMs (positions compared), changing nothing', async () => {
    const move = await open();
    // The replica's SQL thread blocks on this lock: both threads run, but it cannot apply the write.
    const locker = await replica.connect('root', '');
    try {
      await locker.query('LOCK TABLES app.writes WRITE');
      await source.query("INSERT INTO app.writes (client, n) VALUES ('lag', 1)");
      // A new binlog file in between: the bytes behind are counted across files.
      await source.query('FLUSH BINARY LOGS');
      await source.query("INSERT INTO app.writes (client, n) VALUES ('lag', 2)");
      const started = performance.now();
      await assert.rejects(move.preflight({ ...LIMITS, maxLagMs: 300 }), refusal('SWITCHYARD_ERR_DB_PREFLIGHT', /limit 300 ms/));
      assert.ok(performance.now() - started < 3000, 'the lag check is bounded by maxLagMs');
      assert.deepEqual(await replicaState(), { io: 'Yes', sql: 'Yes', readOnly: 1 });
      const behind = await bytesBehind();
      const files = await source.query('SHOW BINARY LOGS');
      const total = files.reduce((sum, row) => sum + Number(row.File_size), 0);
      assert.ok(behind.bytes !== null && behind.bytes > 0 && behind.bytes < total, `bytes behind ${behind.bytes} of ${total}`);
      assert.notEqual(behind.file, files.at(-1)?.Log_name, 'the replica is a whole file behind');
    } finally {
      await locker.query('UNLOCK TABLES');
      await locker.end();
    }
    // Every event, not only transactions: the binlog checkpoint that follows the FLUSH is 40 bytes too.
    await replica.executedAllOf(source);
    const report = await move.preflight(LIMITS);
    assert.ok(report.lagMs !== null && report.lagMs < LIMITS.maxLagMs);
    assert.equal(report.lagBytes, 0);
    assert.equal((await bytesBehind()).bytes, 0);
  });

  test('refuses while a write transaction on the source is older than maxTransactionAgeMs', async () => {
    const move = await open();
    const app = await source.connect(ACCOUNTS.app.user, ACCOUNTS.app.password, 'app');
    try {
      await app.query('BEGIN');
      await app.query("INSERT INTO app.writes (client, n) VALUES ('old', 1)");
      // trx_started has a one-second resolution: wait until the server counts one second. INNODB_TRX
      // is a cache that InnoDB refreshes only when it has not been read for 0.1 s: poll slower than that.
      await waitFor(
        async () =>
          Number(await source.value('SELECT MAX(TIMESTAMPDIFF(SECOND, trx_started, NOW())) FROM information_schema.INNODB_TRX')) >= 1,
        {
          timeoutMs: 5000,
          intervalMs: 150,
          what: 'a transaction one second old',
        },
      );
      await assert.rejects(
        move.preflight({ ...LIMITS, maxTransactionAgeMs: 500 }),
        refusal(
          'SWITCHYARD_ERR_DB_PREFLIGHT',
          /transaction of session \d+ \(app@127\.0\.0\.1:\d+\) open \d+ s, 1 rows changed \(limit 500 ms\)/,
        ),
      );
      await move.preflight(LIMITS);
    } finally {
      await app.query('ROLLBACK');
      await app.end();
    }
    await move.preflight({ ...LIMITS, maxTransactionAgeMs: 500 });
  });

  test('waitFor has a deadline and an abort signal', async () => {
    const move = await open();
    const far = { kind: move.kind, text: '0-1-999999' } as const;
    let started = performance.now();
    await assert.rejects(
      move.waitFor(far, { timeoutMs: 300 }),
      refusal('SWITCHYARD_ERR_DB_TIMEOUT', /did not reach the source's position 0-1-999999 within 300 ms \(I\/O thread Yes/),
    );
    assert.ok(performance.now() - started < 2000);
    const controller = new AbortController();
    started = performance.now();
    const waiting = move.waitFor(far, { timeoutMs: 30_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(waiting, /aborted/);
    assert.ok(performance.now() - started < 2000);
    // The wait is ended on the server too, not left running until its own timeout.
    await waitFor(
      async () =>
        (await replica.query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT MASTER_GTID_WAIT%'")).length === 0,
      {
        timeoutMs: 5000,
        what: 'the server-side wait to end',
      },
    );
    // The move still works after a cut-off wait.
    await move.waitFor(await move.catchUpPosition(), { timeoutMs: 5000 });
  });

  test('fence makes the source refuse writes, an open transaction cannot commit, unfence restores read_only OFF', async () => {
    const move = await open();
    const app = await source.connect(ACCOUNTS.app.user, ACCOUNTS.app.password, 'app');
    try {
      await app.query("INSERT INTO app.writes (client, n) VALUES ('fence', 1)");
      await app.query('BEGIN');
      await app.query("INSERT INTO app.writes (client, n) VALUES ('fence', 2)");
      await move.fence();
      await move.fence(); // idempotent: unfence must still restore the state before the first fence
      assert.equal(Number(await source.value('SELECT @@read_only')), 1);
      await assert.rejects(app.query('COMMIT'), { code: 'ER_OPTION_PREVENTS_STATEMENT' });
      await assert.rejects(app.query("INSERT INTO app.writes (client, n) VALUES ('fence', 3)"), { code: 'ER_OPTION_PREVENTS_STATEMENT' });
      await move.unfence();
      assert.equal(Number(await source.value('SELECT @@read_only')), 0);
      await app.query("INSERT INTO app.writes (client, n) VALUES ('fence', 4)");
      const rows = await source.query("SELECT n FROM app.writes WHERE client = 'fence' ORDER BY n");
      assert.deepEqual(
        rows.map((row) => row.n),
        [1, 4],
      );
    } finally {
      await app.end();
    }
  });

  test('unfence restores read_only ON when the source was read-only before the fence', async () => {
    const move = await open();
    await source.query('SET GLOBAL read_only = ON');
    try {
      await move.fence();
      await move.unfence();
      assert.equal(Number(await source.value('SELECT @@read_only')), 1);
    } finally {
      await source.query('SET GLOBAL read_only = OFF');
    }
  });

  test('a fence held up by a table lock on the source gives up at its deadline; unfence leaves the source as it was', async () => {
    const move = await openDatabaseMove(source.url, replica.url, { queryTimeoutMs: 1500 });
    moves.push(move);
    const locker = await source.connect(ACCOUNTS.app.user, ACCOUNTS.app.password, 'app');
    try {
      await locker.query('LOCK TABLES writes WRITE');
      const started = performance.now();
      await assert.rejects(move.fence(), (error: unknown) => isDatabaseError(error) && /fencing the source/.test(error.message));
      assert.ok(performance.now() - started < 5000, `the fence gave up in ${performance.now() - started} ms`);
      await move.unfence();
      assert.equal(Number(await source.value('SELECT @@read_only')), 0);
      await locker.query('UNLOCK TABLES');
      // The given-up fence statement was ended on the server: it does not land once the lock is gone.
      await locker.query("INSERT INTO writes (client, n) VALUES ('after-lock', 1)");
      assert.equal(Number(await source.value('SELECT @@read_only')), 0);
    } finally {
      await locker.end();
    }
  });

  test('binlog file and offset replication (no GTID) is detected and waited for with MASTER_POS_WAIT', async () => {
    await replica.query('STOP SLAVE');
    await replica.query('CHANGE MASTER TO MASTER_USE_GTID = no');
    await replica.query('START SLAVE');
    try {
      await replica.waitReplicating();
      await replica.executedAllOf(source);
      const move = await open();
      assert.equal(move.kind, 'mysql-binlog');
      const report = await move.preflight(LIMITS);
      assert.equal(report.lagBytes, 0);
      await source.query("INSERT INTO app.writes (client, n) VALUES ('binlog', 1)");
      const position = await move.catchUpPosition();
      assert.match(position.text, /^.*binlog\.\d+:\d+$/);
      await move.waitFor(position, { timeoutMs: 5000 });
      assert.equal((await replica.query("SELECT n FROM app.writes WHERE client = 'binlog'")).length, 1);
      await assert.rejects(move.waitFor({ kind: 'mysql-gtid', text: '0-1-1' }, { timeoutMs: 100 }), /cannot be waited for/);
    } finally {
      await replica.query('STOP SLAVE');
      await replica.query('CHANGE MASTER TO MASTER_USE_GTID = slave_pos');
      await replica.query('START SLAVE');
    }
    await replica.waitReplicating();
  });

  test('under a concurrent write loop: fence, catch up, promote; every write acknowledged by the source is on the target', async (t) => {
    const move = await open();
    await move.preflight(LIMITS);
    const loop = new WriteLoop(source, 3);
    await loop.start();
    await waitFor(() => loop.acknowledged() >= 60, { timeoutMs: 15_000, what: '60 acknowledged writes' });

    // The replica's lag under this load, caught up without a fence (the source keeps writing).
    let started = performance.now();
    await move.waitFor(await move.catchUpPosition(), { timeoutMs: 10_000 });
    const naturalMs = performance.now() - started;

    // Then the window: the replica's SQL thread is held up for 150 ms (a lock on the replica), so
    // the writes just before the fence are not applied yet when the position is read; promoting
    // without waiting for them would lose them.
    const locker = await replica.connect('root', '');
    await locker.query('LOCK TABLES app.writes WRITE');
    const lockedAt = loop.acknowledged();
    await waitFor(() => loop.acknowledged() >= lockedAt + 3, { timeoutMs: 5000, what: 'writes the replica cannot apply yet' });
    const unlocked = delay(150).then(() => locker.query('UNLOCK TABLES'));
    started = performance.now();
    await move.fence();
    const position = await move.catchUpPosition();
    await move.waitFor(position, { timeoutMs: 10_000 });
    const catchUpMs = performance.now() - started;
    started = performance.now();
    await move.promote({ timeoutMs: 10_000 });
    const promoteMs = performance.now() - started;
    await unlocked;
    await locker.end();
    const result = await loop.stop();
    t.diagnostic(
      `${result.acknowledged.length} writes acknowledged by the source, ${result.refused} refused by the fence; catch-up under load: ${naturalMs.toFixed(1)} ms; fence + catch-up to ${position.text} with the replica held up 150 ms: ${catchUpMs.toFixed(1)} ms; promote: ${promoteMs.toFixed(1)} ms`,
    );

    const onTarget = new Set((await replica.query('SELECT client, n FROM app.writes')).map((row) => `${row.client}/${row.n}`));
    const missing = result.acknowledged.filter((key) => !onTarget.has(key));
    assert.deepEqual(missing, [], 'every acknowledged write is on the target');
    assert.ok(result.refused > 0, 'the loop kept writing into the fence');
    assert.ok(catchUpMs >= 100, `the catch-up waited for the held-up replica (${catchUpMs} ms)`);
    assert.equal(await replica.replicaStatus(), undefined, 'the target no longer replicates');
    assert.equal(Number(await replica.value('SELECT @@read_only')), 0);
    const app = await replica.connect(ACCOUNTS.app.user, ACCOUNTS.app.password, 'app');
    try {
      await app.query("INSERT INTO app.writes (client, n) VALUES ('after', 1)");
    } finally {
      await app.end();
    }
    // The old source stays fenced: nothing the front ends do not see can write there any more.
    assert.equal(Number(await source.value('SELECT @@read_only')), 1);
  });

  test('the way back documented in the README: the old source replicates the promoted server (MASTER_USE_GTID=current_pos)', async () => {
    await source.replicate(replica, { from: 'current_pos' });
    await source.caughtUpWith(replica);
    const rows = await source.query("SELECT n FROM app.writes WHERE client = 'after'");
    assert.equal(rows.length, 1, 'the write made on the promoted server reached the old one');
    const back = await open(replica.url, source.url);
    assert.equal(back.kind, 'mysql-gtid');
    await back.preflight(LIMITS);
  });
});

/**
 * Writers on the source as the application account, each numbering its rows; one write in four is a
 * transaction held open for 20 ms before COMMIT. A write counts as acknowledged only once the server
 * said OK. Bounded: at most 20 s and 5000 writes per writer.
 */
class WriteLoop {
  private readonly server: MariaDbServer;
  private readonly writers: number;
  private readonly done: string[] = [];
  private refused = 0;
  private running = true;
  private loops: Promise<void>[] = [];
  private connections: Connection[] = [];

  constructor(server: MariaDbServer, writers: number) {
    this.server = server;
    this.writers = writers;
  }

  acknowledged(): number {
    return this.done.length;
  }

  async start(): Promise<void> {
    this.connections = await Promise.all(
      Array.from({ length: this.writers }, () => this.server.connect(ACCOUNTS.app.user, ACCOUNTS.app.password, 'app')),
    );
    this.loops = this.connections.map((connection, index) => this.write(connection, `w${index}`));
  }

  private async write(connection: Connection, client: string): Promise<void> {
    const until = Date.now() + 20_000;
    for (let n = 1; this.running && n <= 5000 && Date.now() < until; n++) {
      try {
        if (n % 4 === 0) {
          await connection.query('BEGIN');
          await connection.query('INSERT INTO writes (client, n) VALUES (?, ?)', [client, n]);
          await delay(20);
          await connection.query('COMMIT');
        } else {
          await connection.query('INSERT INTO writes (client, n) VALUES (?, ?)', [client, n]);
        }
        this.done.push(`${client}/${n}`);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ER_OPTION_PREVENTS_STATEMENT') throw error;
        this.refused++;
        await connection.query('ROLLBACK');
        await delay(5);
      }
    }
  }

  async stop(): Promise<{ acknowledged: string[]; refused: number }> {
    this.running = false;
    await Promise.all(this.loops);
    await Promise.all(this.connections.map((connection) => connection.end()));
    return { acknowledged: [...this.done], refused: this.refused };
  }
}
