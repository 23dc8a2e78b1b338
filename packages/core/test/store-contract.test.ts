// One contract, both stores: every test here runs against the in-process memory store and a real
// redis-server, so the Lua script and the JavaScript compare-and-set cannot drift apart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RedisServer } from '../../../test/support/redis-server';
import { ConflictError, createStore, readState, restoreKeptState, type StateWrite, type Store, silentLogger } from '../src/index';

let redis: RedisServer;
let redisStores = 0;
const nextPrefix = (name: string): string => {
  redisStores += 1;
  return `t${redisStores}-${name}:`;
};

before(async () => {
  redis = await RedisServer.start();
});

after(async () => {
  await redis.stop();
});

const kinds: Record<string, (name: string) => Store> = {
  memory: (name) => createStore(`memory://contract-${name}`),
  // A prefix per test keeps tests independent on the one server.
  redis: (name) => createStore(redis.url, { logger: silentLogger, prefix: nextPrefix(name) }),
};

const change = (site: string, value: string | null, extra: Partial<StateWrite> = {}): StateWrite => ({
  kind: 'route',
  site,
  value,
  actor: 'test@here',
  action: 'route set',
  ...extra,
});

for (const [kind, open] of Object.entries(kinds)) {
  describe(`${kind} store contract`, () => {
    const stores: Store[] = [];
    const fresh = (name: string) => {
      const store = open(name);
      stores.push(store);
      return store;
    };
    after(async () => {
      for (const store of stores) await store.close();
    });

    test('write: compare-and-set, version bump, history; the same value again writes nothing', async () => {
      const store = fresh('write');
      const first = await store.write(change('shop', 'http://127.0.0.1:1000', { expect: { value: null } }));
      assert.deepEqual(first, { version: 1, previous: null, changed: true });
      const again = await store.write(change('shop', 'http://127.0.0.1:1000'));
      assert.deepEqual(again, { version: 1, previous: 'http://127.0.0.1:1000', changed: false });
      await assert.rejects(store.write(change('shop', 'http://127.0.0.1:2000', { expect: { value: null } })), (error: unknown) => {
        assert.ok(error instanceof ConflictError);
        assert.equal(error.code, 'SWITCHYARD_ERR_CONFLICT');
        assert.equal(error.current, 'http://127.0.0.1:1000');
        return true;
      });
      const deleted = await store.write(change('shop', null, { expect: { value: 'http://127.0.0.1:1000' }, cutoverId: 'c1' }));
      assert.deepEqual(deleted, { version: 2, previous: 'http://127.0.0.1:1000', changed: true });
      const history = await store.history(10);
      assert.deepEqual(
        history.map(({ old, new: next, version, cutoverId, actor }) => ({ old, new: next, version, cutoverId, actor })),
        [
          { old: 'http://127.0.0.1:1000', new: null, version: 2, cutoverId: 'c1', actor: 'test@here' },
          { old: null, new: 'http://127.0.0.1:1000', version: 1, cutoverId: undefined, actor: 'test@here' },
        ],
      );
      assert.ok(!Number.isNaN(Date.parse(history[0]?.time ?? '')), 'history entries carry a time');
    });

    test('writeBatch: all or nothing, one version bump, one history entry per changed key', async () => {
      const store = fresh('batch');
      await store.write(change('a', 'http://127.0.0.1:1000'));
      const results = await store.writeBatch([
        change('a', 'http://127.0.0.1:1000', { expect: { value: 'http://127.0.0.1:1000' } }),
        change('b', 'http://127.0.0.1:2000', { expect: { value: null } }),
        { ...change('b', '{"mode":"on"}'), kind: 'maintenance', action: 'maintenance on' },
      ]);
      assert.deepEqual(results, [
        { version: 2, previous: 'http://127.0.0.1:1000', changed: false },
        { version: 2, previous: null, changed: true },
        { version: 2, previous: null, changed: true },
      ]);
      assert.equal((await store.history(10)).length, 3, 'one entry for the first write, two for the batch');
      await assert.rejects(store.writeBatch([change('c', 'http://127.0.0.1:3000'), change('b', null, { expect: { value: null } })]), {
        code: 'SWITCHYARD_ERR_CONFLICT',
      });
      const state = await readState(store);
      assert.equal(state.version, 2, 'a refused batch bumps nothing');
      assert.deepEqual(
        state.sites.map((site) => site.site),
        ['a', 'b'],
        'a refused batch writes nothing',
      );
      await assert.rejects(store.writeBatch([change('a', null), change('a', null)]), { code: 'SWITCHYARD_ERR_INVALID_OPTION' });
      const nothing = await store.writeBatch([change('a', 'http://127.0.0.1:1000')]);
      assert.deepEqual(nothing, [{ version: 2, previous: 'http://127.0.0.1:1000', changed: false }]);
      const raised = await store.writeBatch([change('z', 'http://127.0.0.1:9000')], { versionAtLeast: 40 });
      assert.equal(raised[0]?.version, 40);
      assert.equal((await store.readKeys([])).version, 40);
    });

    test('restoreKeptState writes the kept values back above the kept version; a racing restore gets a conflict', async () => {
      const store = fresh('restore');
      const kept = {
        version: 17,
        values: { [store.keys.route('shop')]: 'http://127.0.0.1:1000', [store.keys.maintenance('shop')]: '{"mode":"read-only"}' },
      };
      const results = await restoreKeptState(store, kept, { actor: 'ops@here' });
      assert.ok(results.every((result) => result.changed && result.version === 18));
      const state = await readState(store);
      assert.equal(state.version, 18);
      assert.equal(state.sites[0]?.route?.target, 'http://127.0.0.1:1000');
      assert.equal(state.sites[0]?.maintenance?.mode, 'read-only');
      assert.deepEqual(
        (await store.history(2)).map((entry) => [entry.action, entry.actor]),
        [
          ['restore', 'ops@here'],
          ['restore', 'ops@here'],
        ],
      );
      // A second operator restoring what another front end kept, having seen the store empty.
      await assert.rejects(restoreKeptState(store, { version: 17, values: { [store.keys.route('shop')]: 'http://127.0.0.1:2000' } }), {
        code: 'SWITCHYARD_ERR_CONFLICT',
      });
      await assert.rejects(restoreKeptState(store, { version: 1, values: { [store.keys.route('x')]: 'ftp://nope' } }), {
        code: 'SWITCHYARD_ERR_INVALID_ROUTE',
      });
      assert.equal((await readState(store)).sites[0]?.route?.target, 'http://127.0.0.1:1000');
    });

    test('a closed store refuses with SWITCHYARD_ERR_STORE_CLOSED', async () => {
      const store = open('closed');
      await store.close();
      await assert.rejects(store.readAll(), { code: 'SWITCHYARD_ERR_STORE_CLOSED' });
      await assert.rejects(store.write(change('a', null)), { code: 'SWITCHYARD_ERR_STORE_CLOSED' });
    });
  });
}

test('a Redis that accepts connections but never answers fails the command at commandTimeoutMs', async (t) => {
  const server = await RedisServer.start();
  const store = createStore(server.url, { logger: silentLogger, reconnect: false, commandTimeoutMs: 300 });
  t.after(async () => {
    server.resume();
    await store.close();
    await server.stop();
  });
  await store.readAll();
  server.pause();
  const started = Date.now();
  await assert.rejects(store.readAll(), { code: 'SWITCHYARD_ERR_STORE_UNAVAILABLE' });
  assert.ok(Date.now() - started < 5000, 'failed at the deadline, not at some later timeout');
});
