// The database-aware cutover end to end on PostgreSQL streaming replication (the flow and its
// assertions, shared with MariaDB's packages/db/test/mysql-cutover.test.ts, are in
// support/database-cutover.ts): the old guestbook on the primary, the new one on its standby.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutoverUnderLoad } from './support/database-cutover';
import { GUESTBOOK_SCHEMA, type PostgresGuestbook, startPostgresGuestbook } from './support/postgres-guestbook';
import { PostgresServer, postgresMissing } from './support/postgres-server';

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
        const [{ recovery }] = (await standby.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery')) as [
          { recovery: boolean },
        ];
        assert.equal(recovery, false, 'the standby was promoted');
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
