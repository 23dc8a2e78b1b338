import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createStore, readValue, type Store, setRoute } from '@switchyard/core';
import { countItems, logicalPair, type PostgresServer, postgresMissing } from '../../../test/support/postgres-server';
import { waitFor } from '../../../test/support/wait';
import { type AppServer, startAppServer } from './helpers/app-server';
import { runMain } from './helpers/in-process';

// The way back after a logical cutover, through the command line as the README gives it: the first
// cutover's --verify makes the old database subscribe to the new one before maintenance ends (the
// old one is fenced, so psql lifts read-only for its own session); the site then writes to the new
// database; a second cutover with the URLs swapped brings every row back and lifts the fence the
// first one left.
const STORE = 'memory://cutover-way-back';

describe('cutover with PostgreSQL logical replication and back, on the command line', { skip: postgresMissing }, () => {
  let store: Store;
  let oldApp: AppServer;
  let newApp: AppServer;
  let oldDb: PostgresServer;
  let newDb: PostgresServer;

  before(async () => {
    store = createStore(STORE);
    [oldApp, newApp, [oldDb, newDb]] = await Promise.all([
      startAppServer('old'),
      startAppServer('new'),
      logicalPair("INSERT INTO items (note) SELECT 'before' FROM generate_series(1, 20)"),
    ]);
    await setRoute(store, 'default', oldApp.url);
  });

  after(async () => {
    await store.close();
    await Promise.all([oldApp?.close(), newApp?.close(), oldDb?.stop(), newDb?.stop()]);
  });

  const count = (server: PostgresServer, note: string) => countItems(server, note, 'app');

  test('the old database follows the new one from --verify; the cutover back finds every row and takes writes', async () => {
    const psql = (server: PostgresServer) =>
      `psql --no-psqlrc --set=ON_ERROR_STOP=1 'host=127.0.0.1 port=${server.port} user=postgres dbname=app'`;
    const wayBack = [
      `${psql(newDb)} -c 'CREATE PUBLICATION back FOR ALL TABLES'`,
      `PGOPTIONS='-c default_transaction_read_only=off' ${psql(oldDb)} -c "CREATE SUBSCRIPTION back CONNECTION 'host=127.0.0.1 port=${newDb.port} user=postgres dbname=app' PUBLICATION back WITH (copy_data = false)"`,
    ].join(' && ');
    const there = await runMain(
      [
        'cutover',
        '--to',
        newApp.url,
        '--db-source',
        oldDb.url('app'),
        '--db-target',
        newDb.url('app'),
        '--fence-source',
        '--verify',
        wayBack,
        '--yes',
      ],
      { redis: STORE },
    );
    assert.equal(there.code, 0, there.stdout + there.stderr);
    assert.equal(await readValue(store, 'route', 'default'), newApp.url);
    // The site writes to the new database; the fenced old one receives the rows through its subscription.
    await newDb.query("INSERT INTO items (note) SELECT 'after' FROM generate_series(1, 30)", [], 'app');
    await waitFor(async () => (await count(oldDb, 'after')) === 30, { timeoutMs: 15_000, what: 'the old database to follow' });
    await assert.rejects(oldDb.query("INSERT INTO items (note) VALUES ('stray')", [], 'app'), /read-only transaction/);

    const back = await runMain(
      ['cutover', '--to', oldApp.url, '--db-source', newDb.url('app'), '--db-target', oldDb.url('app'), '--fence-source', '--yes'],
      { redis: STORE },
    );
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.match(back.stdout, /the target is read-only by ALTER SYSTEM, as a fence leaves an old server: promotion resets it/);
    assert.equal(await readValue(store, 'route', 'default'), oldApp.url);
    await oldDb.query("INSERT INTO items (note) VALUES ('back')", [], 'app');
    assert.deepEqual(
      { before: await count(oldDb, 'before'), after: await count(oldDb, 'after'), back: await count(oldDb, 'back') },
      { before: 20, after: 30, back: 1 },
    );
    // Now the new database is the fenced one, ready for the next way back.
    await assert.rejects(newDb.query("INSERT INTO items (note) VALUES ('late')", [], 'app'), /read-only transaction/);
  });
});
