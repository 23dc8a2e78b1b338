// The database-aware cutover end to end, once per engine (the flow and its assertions are in
// support/database-cutover.ts): PostgreSQL streaming replication, the old guestbook on the primary and
// the new one on its standby; PostgreSQL logical replication, the new guestbook's database subscribed
// to a publication of the old one's; MariaDB GTID replication, the old guestbook on the source and the new one
// on its replica, as the application account, which MariaDB's read_only fence stops. One file, so the
// two heavy runs never share the machine with each other.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutoverUnderLoad } from './support/database-cutover';
import { MARIADB_GUESTBOOK_SCHEMA, startMariaDbGuestbook } from './support/mariadb-guestbook';
import { ACCOUNTS, MariaDbServer, mariadbMissing } from './support/mariadb-server';
import { GUESTBOOK_SCHEMA, type PostgresGuestbook, startPostgresGuestbook } from './support/postgres-guestbook';
import { PostgresServer, postgresMissing } from './support/postgres-server';
import type { SqlGuestbook } from './support/sql-guestbook';
import { waitFor } from './support/wait';

test('cutover with PostgreSQL streaming replication under write load: no failed request, no lost write', {
  skip: postgresMissing,
}, async (t) => {
  const primary = await PostgresServer.primary();
  await primary.query(GUESTBOOK_SCHEMA);
  const standby = await primary.standby();
  const apps: PostgresGuestbook[] = [];
  try {
    const oldApp = await startPostgresGuestbook({ name: 'old', databaseUrl: primary.url() });
    apps.push(oldApp);
    const newApp = await startPostgresGuestbook({ name: 'new', databaseUrl: standby.url() });
    apps.push(newApp);
    await cutoverUnderLoad(t, {
      oldApp,
      newApp,
      sourceUrl: primary.url('postgres', 'hunter2'),
      targetUrl: standby.url('postgres', 'hunter2'),
      secret: 'hunter2',
      preflightDetail: /database postgres-streaming: .*system identifier/,
      presentOnTarget: async (ids) =>
        (await standby.query<{ id: string }>('SELECT id FROM notes WHERE id = ANY($1)', [ids])).map((row) => row.id),
      async assertPromoted() {
        assert.equal(await standby.inRecovery(), false, 'the standby was promoted');
      },
      async assertSourceFenced() {
        await assert.rejects(primary.query("INSERT INTO notes (id, text) VALUES ('late', 'a cron job')"), /read-only transaction/);
      },
    });
  } finally {
    await Promise.all(apps.map((app) => app.close()));
    await Promise.all([primary.stop(), standby.stop()]);
  }
});

test('cutover with PostgreSQL logical replication under write load: no failed request, no lost write', {
  skip: postgresMissing,
}, async (t) => {
  // Two clusters: the new one's guestbook database subscribes to a publication of the old one's.
  const [source, target] = await Promise.all([PostgresServer.primary({ logical: true }), PostgresServer.primary({ logical: true })]);
  const apps: PostgresGuestbook[] = [];
  try {
    await Promise.all([source.query(GUESTBOOK_SCHEMA), target.query(GUESTBOOK_SCHEMA)]);
    await source.query('CREATE PUBLICATION guestbook FOR ALL TABLES');
    await target.query(
      `CREATE SUBSCRIPTION follow CONNECTION 'host=127.0.0.1 port=${source.port} dbname=postgres user=postgres' PUBLICATION guestbook`,
    );
    await waitFor(async () => (await target.query("SELECT 1 FROM pg_subscription_rel WHERE srsubstate <> 'r'")).length === 0, {
      timeoutMs: 20_000,
      what: 'the initial copy',
    });
    const oldApp = await startPostgresGuestbook({ name: 'old', databaseUrl: source.url() });
    apps.push(oldApp);
    const newApp = await startPostgresGuestbook({ name: 'new', databaseUrl: target.url() });
    apps.push(newApp);
    await cutoverUnderLoad(t, {
      oldApp,
      newApp,
      sourceUrl: source.url('postgres', 'hunter2'),
      targetUrl: target.url('postgres', 'hunter2'),
      secret: 'hunter2',
      preflightDetail: /database postgres-logical/,
      presentOnTarget: async (ids) =>
        (await target.query<{ id: string }>('SELECT id FROM notes WHERE id = ANY($1)', [ids])).map((row) => row.id),
      async assertPromoted() {
        const [{ enabled }] = (await target.query<{ enabled: boolean }>(
          "SELECT subenabled AS enabled FROM pg_subscription WHERE subname = 'follow'",
        )) as [{ enabled: boolean }];
        assert.equal(enabled, false, 'the subscription was disabled, so the new server no longer pulls from the old one');
      },
      async assertSourceFenced() {
        await assert.rejects(source.query("INSERT INTO notes (id, text) VALUES ('late', 'a cron job')"), /read-only transaction/);
      },
    });
  } finally {
    await Promise.all(apps.map((app) => app.close()));
    await Promise.all([source.stop(), target.stop()]);
  }
});

test('cutover with MariaDB GTID replication under write load: no failed request, no lost write', { skip: mariadbMissing() }, async (t) => {
  const [source, replica] = (await MariaDbServer.startAll([{ serverId: 1 }, { serverId: 2, readOnly: true }])) as [
    MariaDbServer,
    MariaDbServer,
  ];
  const apps: SqlGuestbook[] = [];
  try {
    await source.query('CREATE DATABASE app');
    await source.query(MARIADB_GUESTBOOK_SCHEMA);
    await replica.replicate(source);
    await replica.caughtUpWith(source);
    const oldApp = await startMariaDbGuestbook({ name: 'old', databaseUrl: source.urlFor('app', 'app') });
    apps.push(oldApp);
    const newApp = await startMariaDbGuestbook({ name: 'new', databaseUrl: replica.urlFor('app', 'app') });
    apps.push(newApp);
    await cutoverUnderLoad(t, {
      oldApp,
      newApp,
      sourceUrl: source.url,
      targetUrl: replica.url,
      secret: ACCOUNTS.admin.password,
      preflightDetail: /database mysql-gtid: .*server_id 1 → 2, GTID Slave_Pos/,
      presentOnTarget: async (ids) => (await replica.query('SELECT id FROM app.notes WHERE id IN (?)', [ids])).map((row) => String(row.id)),
      async assertPromoted() {
        assert.equal(await replica.replicaStatus(), undefined, 'the replica no longer replicates');
        assert.equal(Number(await replica.value('SELECT @@read_only')), 0, 'the replica is writable');
      },
      async assertSourceFenced() {
        const worker = await source.connect(ACCOUNTS.app.user, ACCOUNTS.app.password, 'app');
        try {
          await assert.rejects(worker.query("INSERT INTO notes (id, text) VALUES ('late', 'a cron job')"), {
            code: 'ER_OPTION_PREVENTS_STATEMENT',
          });
        } finally {
          await worker.end();
        }
      },
    });
  } finally {
    await Promise.all(apps.map((app) => app.close()));
    await Promise.all([source.stop(), replica.stop()]);
  }
});
