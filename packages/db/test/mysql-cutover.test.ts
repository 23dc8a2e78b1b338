// `switchyard cutover --db-source mysql://… --db-target mysql://… --fence-source` end to end on MariaDB
// GTID replication under write load through two front-end processes (the flow and its assertions,
// shared with PostgreSQL's test/cutover-database.test.ts, are in test/support/database-cutover.ts).
// The guestbooks connect as the application account, which MariaDB's read_only fence stops.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutoverUnderLoad } from '../../../test/support/database-cutover';
import { MARIADB_GUESTBOOK_SCHEMA, startMariaDbGuestbook } from '../../../test/support/mariadb-guestbook';
import { ACCOUNTS, MariaDbServer, mariadbMissing } from '../../../test/support/mariadb-server';
import type { SqlGuestbook } from '../../../test/support/sql-guestbook';

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
