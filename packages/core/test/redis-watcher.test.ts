import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import {
  ConflictError,
  createLogger,
  createStore,
  FrontEnd,
  readState,
  readValue,
  type Store,
  setRoute,
  silentLogger,
  Watcher,
} from '../src/index';
import { createStoreWatch } from '../src/store-common';

/** Ids of Redis's clients whose CLIENT LIST line passes `keep`. */
async function clientIds(redis: RedisServer, keep: (line: string) => boolean): Promise<string[]> {
  return String(await redis.cli.call('CLIENT', 'LIST'))
    .split('\n')
    .filter(keep)
    .flatMap((line) => /\bid=(\d+)/.exec(line)?.[1] ?? []);
}

/** A front end's watch connection (named by it), as opposed to ioredis's. */
const isWatchConnection = (line: string) => line.includes(' name=switchyard-watch ');

describe('watcher on real Redis', () => {
  let redis: RedisServer;
  let store: Store;
  let watcher: Watcher;

  before(async () => {
    redis = await RedisServer.start();
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
    store = createStore(redis.url, { logger: silentLogger });
    watcher = new Watcher(store, { logger: silentLogger });
    await watcher.start();
  });

  after(async () => {
    await watcher.close();
    await store.close();
    await redis.stop();
  });

  test('loads the existing state on start', () => {
    assert.equal(watcher.route('default')?.target, 'http://127.0.0.1:1111');
  });

  test('a bare SET by another client is pushed to the watcher', async () => {
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:2222');
    await waitFor(() => watcher.route('default')?.target === 'http://127.0.0.1:2222', { what: 'pushed flip', timeoutMs: 2000 });
  });

  test('a new site appearing is seen, and deleting it removes it', async () => {
    await redis.cli.set('switchyard:route:blog', 'https://blog.internal:8443/');
    await waitFor(() => watcher.route('blog')?.target === 'https://blog.internal:8443', { what: 'new site' });
    await redis.cli.del('switchyard:route:blog');
    await waitFor(() => watcher.site('blog') === undefined, { what: 'deleted site' });
  });

  test('a malformed value is reported and ignored; the last good value stays', async (t) => {
    // Self-contained: runs alone (--test-name-pattern) as well as after the others.
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:2222');
    await waitFor(() => watcher.route('default')?.target === 'http://127.0.0.1:2222', { what: 'good value first' });
    const reported: { key: string; code: string }[] = [];
    const onInvalid = (key: string, error: { code: string }) => reported.push({ key, code: error.code });
    watcher.on('invalid', onInvalid);
    t.after(() => watcher.off('invalid', onInvalid));
    await redis.cli.set('switchyard:route:default', 'ftp://nope');
    await waitFor(() => reported.length === 1, { what: 'invalid report' });
    assert.deepEqual(reported, [{ key: 'switchyard:route:default', code: 'SWITCHYARD_ERR_INVALID_ROUTE' }]);
    assert.equal(watcher.route('default')?.target, 'http://127.0.0.1:2222');
    assert.deepEqual(watcher.invalidKeys, ['switchyard:route:default']);
    // resync() resolves after a full read has been applied, so this really re-reads the bad value.
    let synced = 0;
    const onSync = () => {
      synced += 1;
    };
    watcher.on('sync', onSync);
    await watcher.resync();
    watcher.off('sync', onSync);
    assert.ok(synced >= 1, 'a read was applied before resync() resolved');
    assert.equal(reported.length, 1, 'the same bad value is reported once');
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:3333');
    await waitFor(() => watcher.route('default')?.target === 'http://127.0.0.1:3333', { what: 'recovery' });
    assert.deepEqual(watcher.invalidKeys, []);
  });

  test('resync() called while a read is in flight resolves only after a read that started later is applied', async (t) => {
    // Pushes dropped, and the first full read held back with what it read: only resync() can bring the new value.
    let hold: Promise<void> | undefined;
    let readStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      readStarted = resolve;
    });
    const quiet: Store = {
      ...store,
      readAll: async () => {
        const all = await store.readAll();
        if (hold) {
          readStarted();
          await hold;
        }
        return all;
      },
      watch: () => {
        const inner = store.watch();
        const outer = createStoreWatch(() => inner.close());
        inner.on('up', () => outer.emit('up'));
        inner.on('down', (error) => outer.emit('down', error));
        return outer;
      },
    };
    const own = new Watcher(quiet, { logger: silentLogger, resyncIntervalMs: 60_000 });
    t.after(() => own.close());
    await own.start();
    let release!: () => void;
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    await redis.cli.set('switchyard:route:quiet', 'http://127.0.0.1:1001');
    const first = own.resync();
    await started;
    hold = undefined;
    await redis.cli.set('switchyard:route:quiet', 'http://127.0.0.1:1002');
    let secondDone = false;
    const second = own.resync().then(() => {
      secondDone = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(secondDone, false, 'does not resolve while the earlier read is still in flight');
    release();
    await first;
    await second;
    assert.equal(own.route('quiet')?.target, 'http://127.0.0.1:1002', 'the value written before the second resync() is applied');
    await redis.cli.del('switchyard:route:quiet');
  });

  test('writes through core are compare-and-set, versioned and recorded', async () => {
    const before = await readState(store);
    const current = await readValue(store, 'route', 'default');
    const result = await setRoute(store, 'default', 'http://127.0.0.1:4444', { expect: current, actor: 'test@here' });
    assert.equal(result.changed, true);
    assert.equal(result.version, before.version + 1);
    await assert.rejects(setRoute(store, 'default', 'http://127.0.0.1:5555', { expect: current }), ConflictError);
    const [entry] = await store.history(1);
    assert.equal(entry?.old, current);
    assert.equal(entry?.new, 'http://127.0.0.1:4444');
    assert.equal(entry?.actor, 'test@here');
    await waitFor(() => watcher.version === result.version, { what: 'version applied' });
    assert.equal(watcher.digest, (await readState(store)).digest);
  });

  test('the Host-header cache stays at its bound under a flood of random hosts', async () => {
    const small = new Watcher(store, { logger: silentLogger, hostCacheSize: 100 });
    await small.start();
    for (let index = 0; index < 5000; index += 1) assert.equal(small.resolveHost(`random-${index}.example.com`), undefined);
    assert.ok(small.hostCacheEntries <= 100, `${small.hostCacheEntries} cached Host headers, bound 100`);
    assert.ok(small.hostCacheEntries >= 50, `${small.hostCacheEntries} cached Host headers: the recent half is kept`);
    await redis.cli.set('switchyard:route:*.example.com', 'http://127.0.0.1:6666');
    await waitFor(() => small.resolveHost('shop.example.com:8080') === '*.example.com', { what: 'wildcard site' });
    await small.close();
  });
});

describe('fail-static', () => {
  test('Redis killed: the last state stays; restarted: tracking resumes and a new flip is seen', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
    const front = new FrontEnd({ store: redis.url, logger: silentLogger, resyncIntervalMs: 60_000 });
    t.after(() => front.close());
    await front.start();
    const events: string[] = [];
    front.watcher.on('down', () => events.push('down'));
    front.watcher.on('up', () => events.push('up'));
    await redis.kill();
    await waitFor(() => !front.watcher.connected, { what: 'outage noticed' });
    assert.equal(front.watcher.route('default')?.target, 'http://127.0.0.1:1111');
    await redis.restart();
    await waitFor(() => front.watcher.connected, { what: 'reconnect', timeoutMs: 10_000 });
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:2222');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:2222', { what: 'flip after restart' });
    assert.deepEqual(events, ['down', 'up']);
  });

  test('a front end started while Redis is down starts as soon as Redis appears', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    await redis.kill();
    const front = new FrontEnd({ store: redis.url, logger: silentLogger, startTimeoutMs: 20_000 });
    t.after(() => front.close());
    const started = front.start();
    await waitFor(() => !front.watcher.connected, { what: 'outage noticed at start' });
    await redis.restart();
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
    await started;
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:1111', { what: 'state after late start' });
  });

  test('start() gives up with SWITCHYARD_ERR_STORE_UNAVAILABLE after startTimeoutMs', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    await redis.kill();
    const front = new FrontEnd({ store: redis.url, logger: silentLogger, startTimeoutMs: 300 });
    t.after(() => front.close());
    await assert.rejects(front.start(), { code: 'SWITCHYARD_ERR_STORE_UNAVAILABLE' });
  });

  test('only the watch connection dropped: tracking is re-issued on its successor', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
    const front = new FrontEnd({ store: redis.url, logger: silentLogger, resyncIntervalMs: 60_000 });
    t.after(() => front.close());
    await front.start();
    const watchIds = () => clientIds(redis, isWatchConnection);
    const [first, ...others] = await watchIds();
    assert.ok(first !== undefined && others.length === 0, 'one watch connection, named');
    assert.equal(await redis.cli.call('CLIENT', 'KILL', 'ID', first), 1);
    await waitFor(async () => (await watchIds()).some((id) => id !== first) && front.watcher.connected, { what: 'watch connection back' });
    // The slow resync is a minute away: only a pushed invalidation can deliver these in time.
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:2222');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:2222', { timeoutMs: 3000, what: 'pushed flip' });
  });

  test('Redis at maxclients refuses the watch connection: retried until it is back, and pushes resume', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    const lines: string[] = [];
    const front = new FrontEnd({ store: redis.url, logger: createLogger('warn', (line) => lines.push(line)), resyncIntervalMs: 60_000 });
    t.after(() => front.close());
    await front.start();
    const watchId = async () => (await clientIds(redis, isWatchConnection))[0];
    const first = await watchId();
    assert.ok(first);
    // The test's client and ioredis's are all Redis takes now: the watch connection's retries are refused.
    await redis.cli.call('CONFIG', 'SET', 'maxclients', '2');
    await redis.cli.call('CLIENT', 'KILL', 'ID', first);
    await waitFor(() => !front.watcher.connected, { what: 'watch down' });
    await redis.cli.call('CONFIG', 'SET', 'maxclients', '100');
    await waitFor(async () => front.watcher.connected && (await watchId()) !== undefined, { timeoutMs: 10_000, what: 'watch back' });
    assert.equal(front.store.pushesChanges, true);
    assert.deepEqual(
      lines.filter((line) => JSON.parse(line).event === 'tracking-refused'),
      [],
      'max clients is not a Redis without tracking',
    );
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:6666');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:6666', { timeoutMs: 3000, what: 'pushed flip' });
  });

  test('over a Unix socket: the watch connection goes where ioredis goes', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-unix-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'redis.sock');
    const redis = await RedisServer.start(['--unixsocket', path, '--unixsocketperm', '700']);
    t.after(() => redis.stop());
    const front = new FrontEnd({ store: { path }, logger: silentLogger, resyncIntervalMs: 60_000 });
    t.after(() => front.close());
    await front.start();
    const watch = String(await redis.cli.call('CLIENT', 'LIST'))
      .split('\n')
      .find(isWatchConnection);
    assert.ok(watch?.includes(` addr=${path}:0 `), `the watch connection came over the socket: ${watch}`);
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:7777');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:7777', { timeoutMs: 3000, what: 'pushed flip' });
  });

  test('only the command connection dropped: the watch stays up and pushes keep coming', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    const front = new FrontEnd({ store: redis.url, logger: silentLogger, resyncIntervalMs: 60_000 });
    t.after(() => front.close());
    await front.start();
    let downs = 0;
    front.watcher.on('down', () => (downs += 1));
    const own = String(await redis.cli.call('CLIENT', 'ID'));
    const commandIds = (await clientIds(redis, (line) => /\bresp=2\b/.test(line) && !isWatchConnection(line))).filter((id) => id !== own);
    assert.equal(commandIds.length, 1, "ioredis's one connection");
    assert.equal(await redis.cli.call('CLIENT', 'KILL', 'ID', commandIds[0] ?? ''), 1);
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:4444');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:4444', { timeoutMs: 3000, what: 'pushed flip' });
    assert.equal(downs, 0, 'the watch never went down');
  });

  test('Redis restarted empty: the last good state stays, said once; the next write is followed, deletions too', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    const lines: string[] = [];
    const front = new FrontEnd({ store: redis.url, logger: createLogger('warn', (line) => lines.push(line)), resyncIntervalMs: 100 });
    t.after(() => front.close());
    const operator = createStore(redis.url, { logger: silentLogger });
    t.after(() => operator.close());
    await setRoute(operator, 'default', 'http://127.0.0.1:1111');
    await setRoute(operator, 'blog', 'http://127.0.0.1:1112');
    await front.start();
    await waitFor(() => front.watcher.version === 2, { what: 'both routes applied' });
    await redis.kill();
    await waitFor(() => !front.watcher.connected, { what: 'outage noticed' });
    await redis.restart();
    await waitFor(() => front.watcher.connected, { what: 'reconnect', timeoutMs: 10_000 });
    await waitFor(() => lines.some((line) => JSON.parse(line).event === 'store-lost-state'), { what: 'lost state reported' });
    // Several slow resyncs (every 100 ms here) later, nothing was deleted.
    const syncs = await new Promise<number>((resolve) => {
      let count = 0;
      const onSync = () => {
        count += 1;
        if (count === 5) {
          front.watcher.off('sync', onSync);
          resolve(count);
        }
      };
      front.watcher.on('sync', onSync);
    });
    assert.equal(syncs, 5);
    assert.equal(front.watcher.route('default')?.target, 'http://127.0.0.1:1111');
    assert.equal(front.watcher.route('blog')?.target, 'http://127.0.0.1:1112');
    assert.equal(lines.filter((line) => JSON.parse(line).event === 'store-lost-state').length, 1, 'said once');

    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:2222');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:2222', { what: 'write followed' });
    await waitFor(() => front.watcher.site('blog') === undefined, { what: 'Redis is the truth again: blog is gone' });
  });
});
