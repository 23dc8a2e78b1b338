import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createStore, readValue, type Store, setMaintenance, setRoute } from '@switchyard/core';
import type { CutoverJournalEntry } from '@switchyard/core/internal';
import { PostgresServer, postgresMissing } from '../../../test/support/postgres-server';
import { writeJournal } from '../src/cutover/journal';
import { CutoverError, type CutoverEvent, cutover, resumeCutover } from '../src/index';
import { type AppServer, startAppServer } from './helpers/app-server';
import { runMain } from './helpers/in-process';

// The database step's rules, on the library and the command line, with real PostgreSQL streaming
// pairs: refusals change nothing; a failure before promotion unfences the source and restores
// maintenance; after promotion the cutover stays in maintenance on the new route, unless
// --rollback-after-promote.
const STORE = 'memory://cutover-database';

describe('cutover with a database: guardrails and rollback rules', { skip: postgresMissing }, () => {
  let store: Store;
  let oldApp: AppServer;
  let newApp: AppServer;
  let primary: PostgresServer;
  let standby: PostgresServer;

  before(async () => {
    store = createStore(STORE);
    [oldApp, newApp, primary] = await Promise.all([startAppServer('old'), startAppServer('new'), PostgresServer.primary()]);
    await primary.query('CREATE TABLE items (id serial PRIMARY KEY, note text)');
    standby = await primary.standby();
  });

  beforeEach(async () => {
    await setRoute(store, 'default', oldApp.url);
    await setMaintenance(store, 'default', null);
  });

  after(async () => {
    await store.close();
    await Promise.all([oldApp.close(), newApp.close(), primary?.stop(), standby?.stop()]);
  });

  const db = () => ({ source: primary.url('postgres', 'hunter2'), target: standby.url('postgres', 'hunter2') });
  const sourceReadOnly = async () =>
    (await primary.query<{ setting: string }>("SELECT current_setting('default_transaction_read_only') AS setting"))[0]?.setting;

  test('--dry-run prints the database checks and the plan; a refused pre-flight changes nothing and exits 1', async () => {
    const dry = await runMain(['cutover', '--to', newApp.url, '--db-source', db().source, '--db-target', db().target, '--dry-run'], {
      redis: STORE,
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\n {2}database +postgres-streaming postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres → /);
    assert.match(dry.stdout, /\n {2}after promote +no way back to the old database/);
    assert.match(dry.stdout, /database postgres-streaming: target is a standby of the source's cluster/);
    assert.doesNotMatch(dry.stdout + dry.stderr, /hunter2/);

    // The target as source: "the source is itself a standby".
    const refused = await runMain(['cutover', '--to', newApp.url, '--db-source', db().target, '--db-target', db().source], {
      redis: STORE,
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /itself a standby/);
    assert.doesNotMatch(refused.stderr, /hunter2/);
    assert.equal(await readValue(store, 'maintenance', 'default'), null);
    assert.equal(await readValue(store, 'route', 'default'), oldApp.url);
    assert.equal(await store.getCutover('default'), null);

    const usage = await runMain(['cutover', '--to', newApp.url, '--db-source', db().source], { redis: STORE });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--db-source and --db-target go together/);
  });

  test('a failure before promotion unfences the source, restores maintenance and leaves the target a standby', async () => {
    const failure = await cutover({
      store,
      to: newApp.url,
      db: { ...db(), fenceSource: true, catchUpTimeoutMs: 300 },
      // Replay stops after pre-flight and a last write arrives: the target cannot catch up in time.
      sync: async () => {
        await standby.query('SELECT pg_wal_replay_pause()');
        await primary.query("INSERT INTO items (note) VALUES ('after the pause')").catch(() => undefined);
      },
    }).catch((error: unknown) => error);
    try {
      assert.ok(failure instanceof CutoverError, String(failure));
      assert.equal(failure.step, 'database');
      assert.match(failure.message, /not done after 300 ms/);
      assert.equal(failure.cleanup.maintenanceRestored, true);
      assert.match(failure.cleanup.summary, /source database unfenced/);
      assert.equal(await sourceReadOnly(), 'off');
      assert.equal(await standby.inRecovery(), true);
      assert.equal(await readValue(store, 'maintenance', 'default'), null);
      assert.equal(await readValue(store, 'route', 'default'), oldApp.url);
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
    }
  });

  test('maintenance lifted by someone else before promotion: the target is not promoted, the source unfenced, the route untouched', async () => {
    const failure = await cutover({
      store,
      to: newApp.url,
      db: { ...db(), fenceSource: true },
      sync: async () => {
        await setMaintenance(store, 'default', null);
      },
    }).catch((error: unknown) => error);
    assert.ok(failure instanceof CutoverError, String(failure));
    assert.equal(failure.step, 'database');
    assert.match(
      failure.message,
      /maintenance of default was lifted during the cutover .* so the promotion of postgres:\/\/\S+ was not done/,
    );
    assert.doesNotMatch(failure.message, /hunter2/);
    assert.equal(await standby.inRecovery(), true, 'the target is still a standby');
    assert.equal(await sourceReadOnly(), 'off');
    assert.equal(await readValue(store, 'route', 'default'), oldApp.url);
    assert.equal(await store.getCutover('default'), null);
  });

  /** Writes the journal a cutover of oldApp → newApp leaves when its process dies at `step` (its pid is not alive). */
  async function writeDeadJournal(
    id: string,
    step: 'database' | 'switch',
    maintenance: string,
    database: CutoverJournalEntry,
  ): Promise<void> {
    const now = new Date().toISOString();
    await writeJournal(store, 'default', {
      id,
      site: 'default',
      step,
      from: oldApp.url,
      to: newApp.url,
      previousMaintenance: null,
      maintenance,
      startedAt: now,
      updatedAt: now,
      by: 'test',
      host: hostname(),
      pid: 2 ** 22 + 1,
      steps: { database },
    });
  }

  /** The journal a cutover leaves when its process dies in the database step, after fencing the source. */
  async function leaveCrashedJournal(): Promise<void> {
    await setMaintenance(store, 'default', { mode: 'read-only' });
    const current = (await readValue(store, 'maintenance', 'default')) as string;
    await writeDeadJournal('c-crashed-test', 'database', current, {
      source: 'postgres://postgres@…',
      target: 'postgres://postgres@…',
      kind: 'postgres-streaming',
      fence: true,
      fenced: true,
    });
  }

  test('promoted, then maintenance lifted by someone else before the switch: the clean-up keeps everything and says to put maintenance back', async () => {
    // A cutover that died between promotion and switch; then someone ran `maintenance off`.
    await writeDeadJournal('c-promoted-then-lifted', 'switch', JSON.stringify({ mode: 'read-only' }), {
      source: 'postgres://postgres@…/old',
      target: 'postgres://postgres@…/new',
      kind: 'postgres-streaming',
      promoted: true,
    });
    try {
      const resumed = await runMain(['cutover', '--resume', '--yes'], { redis: STORE });
      assert.equal(resumed.code, 1, resumed.stdout + resumed.stderr);
      assert.match(resumed.stderr, /maintenance of default was lifted during the cutover/);
      assert.match(
        resumed.stderr,
        /was promoted, but maintenance of default was lifted by someone else: writes now reach the old database, which the new one no longer follows\. Put maintenance back at once \(switchyard maintenance on --read-only --site default\)/,
      );
      assert.equal(await readValue(store, 'route', 'default'), oldApp.url);
      assert.notEqual(await store.getCutover('default'), null, 'the journal is kept');
    } finally {
      await writeJournal(store, 'default', null);
    }
  });

  test('--abort after a crash while fenced: without the URLs it stays in maintenance and asks for them; with them it unfences', async () => {
    await leaveCrashedJournal();
    await primary.query('ALTER SYSTEM SET default_transaction_read_only = on');
    await primary.query('SELECT pg_reload_conf()');
    try {
      const without = await runMain(['cutover', '--abort', '--yes'], { redis: STORE });
      assert.equal(without.code, 1, without.stdout + without.stderr);
      assert.match(without.stderr, /still fenced .* run --abort again with --db-source and --db-target/);
      assert.equal(await sourceReadOnly(), 'on');
      assert.match((await readValue(store, 'maintenance', 'default')) ?? '', /read-only/, 'maintenance stays on over a read-only database');
      assert.notEqual(await store.getCutover('default'), null);

      const withUrls = await runMain(['cutover', '--abort', '--yes', '--db-source', db().source, '--db-target', db().target], {
        redis: STORE,
      });
      assert.equal(withUrls.code, 0, withUrls.stdout + withUrls.stderr);
      assert.match(withUrls.stdout, /source database unfenced/);
      assert.doesNotMatch(withUrls.stdout + withUrls.stderr, /hunter2/);
      assert.equal(await sourceReadOnly(), 'off');
      assert.equal(await readValue(store, 'maintenance', 'default'), null);
      assert.equal(await store.getCutover('default'), null);
    } finally {
      await primary.query('ALTER SYSTEM RESET default_transaction_read_only');
      await primary.query('SELECT pg_reload_conf()');
    }
  });

  test('resumed after a crash while fenced: not fenced twice, so a failure before promotion still unfences the source', async () => {
    await leaveCrashedJournal();
    // A write the standby has not replayed (replay paused), then the fence the crashed run had set.
    await standby.query('SELECT pg_wal_replay_pause()');
    await primary.query("INSERT INTO items (note) VALUES ('before the crash')");
    await primary.query('ALTER SYSTEM SET default_transaction_read_only = on');
    await primary.query('SELECT pg_reload_conf()');
    try {
      const failure = await resumeCutover({ store, db: { ...db(), catchUpTimeoutMs: 300 } }).catch((error: unknown) => error);
      assert.ok(failure instanceof CutoverError, String(failure));
      assert.equal(failure.step, 'database');
      assert.match(failure.cleanup.summary, /source database unfenced/);
      assert.equal(await sourceReadOnly(), 'off');
      assert.equal(await readValue(store, 'maintenance', 'default'), null);
      assert.equal(await store.getCutover('default'), null);
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
      await primary.query('ALTER SYSTEM RESET default_transaction_read_only');
      await primary.query('SELECT pg_reload_conf()');
    }
  });

  test('verify failing after promotion keeps the new route and maintenance, and says why', async () => {
    const events: CutoverEvent[] = [];
    const failure = await cutover({
      store,
      to: newApp.url,
      db: db(),
      verify: async () => {
        throw new Error('smoke test failed');
      },
      onEvent: (event) => events.push(event),
    }).catch((error: unknown) => error);
    assert.ok(failure instanceof CutoverError, String(failure));
    assert.equal(failure.step, 'verify');
    assert.match(failure.message, /was promoted: the old one no longer receives writes, so default stays in maintenance/);
    assert.equal(failure.cleanup.journalKept, true);
    assert.equal(await standby.inRecovery(), false);
    assert.equal(await readValue(store, 'route', 'default'), newApp.url);
    assert.match((await readValue(store, 'maintenance', 'default')) ?? '', /read-only/);
    const done = events.filter((event) => event.type === 'step-done');
    const database = done.find((event) => event.type === 'step-done' && event.step === 'database');
    assert.ok(database?.type === 'step-done');
    assert.deepEqual(
      database.substeps?.map((substep) => substep.name),
      ['connect', 'catch-up', 'promote'],
    );
    assert.doesNotMatch(JSON.stringify(events) + (await store.getCutover('default')), /hunter2/);
    await writeJournal(store, 'default', null);
  });
});

/** What `withFreshPair` gives a test: its own store, app servers and primary; standbys made one at a time. */
interface FreshPair {
  readonly store: Store;
  readonly storeName: string;
  readonly oldApp: AppServer;
  readonly newApp: AppServer;
  readonly primary: PostgresServer;
  /** A new standby of the primary (base backups one at a time: each forces a checkpoint that may recycle the WAL another needs). */
  standby(): Promise<PostgresServer>;
}

/** Runs `test` with a memory store named `name` routing to the old app, and a fresh primary; stops everything after. */
async function withFreshPair(name: string, test: (pair: FreshPair) => Promise<void>): Promise<void> {
  const storeName = `memory://${name}`;
  const store = createStore(storeName);
  const [oldApp, newApp, primary] = await Promise.all([startAppServer('old'), startAppServer('new'), PostgresServer.primary()]);
  const standbys: PostgresServer[] = [];
  try {
    await setRoute(store, 'default', oldApp.url);
    await test({
      store,
      storeName,
      oldApp,
      newApp,
      primary,
      standby: async () => {
        const standby = await primary.standby();
        standbys.push(standby);
        return standby;
      },
    });
  } finally {
    await store.close();
    await Promise.all([oldApp.close(), newApp.close(), primary.stop(), ...standbys.map((standby) => standby.stop())]);
  }
}

describe('cutover with a database: --rollback-after-promote', { skip: postgresMissing }, () => {
  test('verify failing after promotion goes back to the old server and unfences the old database', async () => {
    await withFreshPair('cutover-database-rollback', async ({ store, oldApp, newApp, primary, standby: makeStandby }) => {
      const standby = await makeStandby();
      const failure = await cutover({
        store,
        to: newApp.url,
        db: { source: primary.url(), target: standby.url(), fenceSource: true, rollbackAfterPromote: true },
        verify: async () => {
          throw new Error('smoke test failed');
        },
      }).catch((error: unknown) => error);
      assert.ok(failure instanceof CutoverError, String(failure));
      assert.equal(failure.cleanup.journalKept, false);
      assert.equal(await readValue(store, 'route', 'default'), oldApp.url);
      assert.equal(await readValue(store, 'maintenance', 'default'), null);
      // The old database takes writes again (it was fenced during the window).
      await primary.query('CREATE TABLE written_after_rollback (id int)');
      assert.equal(await standby.inRecovery(), false, 'the target stays promoted (detached)');
    });
  });
});

describe('switchyard rollback after a cutover that promoted a database', { skip: postgresMissing }, () => {
  test('refuses (exit 1, nothing written, --dry-run too); --after-promote puts back route and maintenance anyway', async () => {
    await withFreshPair('cutover-database-then-rollback', async ({ store, storeName, oldApp, newApp, primary, standby: makeStandby }) => {
      const standby = await makeStandby();
      await cutover({
        store,
        to: newApp.url,
        db: { source: primary.url('postgres', 'hunter2'), target: standby.url('postgres', 'hunter2') },
      });
      assert.equal(await readValue(store, 'route', 'default'), newApp.url);
      const switched = (await store.history(10)).find((entry) => entry.kind === 'route');
      assert.equal(switched?.action, 'cutover: switch after database promotion');

      const refused = await runMain(['rollback', '--yes'], { redis: storeName });
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /promoted the new database before switching default/);
      assert.match(refused.stderr, /--after-promote/);
      assert.doesNotMatch(refused.stderr, /hunter2/);
      const dryRun = await runMain(['rollback', '--dry-run', '--json'], { redis: storeName });
      assert.equal(dryRun.code, 1, dryRun.stderr);
      assert.equal((JSON.parse(dryRun.stdout) as { error: { code: string } }).error.code, 'SWITCHYARD_ERR_DATABASE_PROMOTED');
      assert.equal(await readValue(store, 'route', 'default'), newApp.url);

      const forced = await runMain(['rollback', '--yes', '--after-promote', '--no-wait'], { redis: storeName });
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(
        forced.stderr,
        /the old database misses the writes made on the new one since the cutover, and is still read-only if the cutover fenced it/,
      );
      assert.equal(await readValue(store, 'route', 'default'), oldApp.url);
      assert.equal(await readValue(store, 'maintenance', 'default'), null);
    });
  });
});

describe('cutover with a database: after a failure past promotion', { skip: postgresMissing }, () => {
  test('--resume once fixed finishes without the database URLs; --abort goes back to the old server and says what is lost', async () => {
    await withFreshPair('cutover-database-after-promotion', async ({ store, storeName, oldApp, newApp, primary, standby }) => {
      const failVerify = async () => {
        throw new Error('smoke test failed');
      };
      await primary.query('CREATE TABLE items (id serial PRIMARY KEY, note text)');
      const first = await standby();
      const second = await standby();
      // Pinned after promotion: new route, maintenance on, journal kept.
      await cutover({ store, to: newApp.url, db: { source: primary.url(), target: first.url() }, verify: failVerify }).catch(
        () => undefined,
      );
      assert.notEqual(await store.getCutover('default'), null);
      const resumed = await runMain(['cutover', '--resume', '--yes', '--verify', 'true'], { redis: storeName });
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      // Resumed at verify: the database step is not run again (the target is already promoted).
      assert.match(resumed.stdout, /steps: verify \d+ ms · restore/);
      assert.match(resumed.stdout, /default now routes to http/);
      assert.equal(await readValue(store, 'route', 'default'), newApp.url);
      assert.equal(await readValue(store, 'maintenance', 'default'), null);
      assert.equal(await store.getCutover('default'), null);

      await setRoute(store, 'default', oldApp.url);
      await cutover({ store, to: newApp.url, db: { source: primary.url(), target: second.url() }, verify: failVerify }).catch(
        () => undefined,
      );
      assert.equal(await second.inRecovery(), false);
      const aborted = await runMain(['cutover', '--abort', '--yes'], { redis: storeName });
      assert.equal(aborted.code, 0, aborted.stdout + aborted.stderr);
      assert.match(
        aborted.stdout,
        /old database untouched \(the new database postgres:\/\/\S+ stays promoted: writes made on it are not on the old one\)/,
      );
      assert.equal(await readValue(store, 'route', 'default'), oldApp.url);
      assert.equal(await readValue(store, 'maintenance', 'default'), null);
      assert.equal(await store.getCutover('default'), null);
      // The old database was never fenced in this cutover: it takes writes.
      await primary.query("INSERT INTO items (note) VALUES ('after the abort')");
    });
  });
});
