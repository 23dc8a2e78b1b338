import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../../../test/support/wait';
import { ConflictError, createFrontEnd, createStore, readState, setMaintenance, setRoute, silentLogger } from '../src/index';

describe('memory store', () => {
  test('stores opened with the same name share state; writes are versioned and recorded', async () => {
    const writer = createStore('memory://shared-test');
    const reader = createStore('memory://shared-test');
    const first = await setRoute(writer, 'default', 'http://127.0.0.1:1000');
    const again = await setRoute(writer, 'default', 'http://127.0.0.1:1000');
    assert.equal(again.changed, false, 'writing the same value is a no-op');
    assert.equal(again.version, first.version);
    await assert.rejects(setRoute(writer, 'default', 'http://127.0.0.1:2000', { expect: null }), ConflictError);
    await setMaintenance(writer, 'default', { mode: 'read-only', message: 'copying' }, { actor: 'me@box' });
    const state = await readState(reader);
    assert.equal(state.sites[0]?.route?.target, 'http://127.0.0.1:1000');
    assert.equal(state.sites[0]?.maintenance?.mode, 'read-only');
    const [latest] = await reader.history(1);
    assert.equal(latest?.action, 'maintenance on');
    assert.equal(latest?.actor, 'me@box');
    await writer.close();
    await reader.close();
  });

  test('a front end on a memory store applies changes and reports its version and counters', async () => {
    const store = createStore('memory://front-test');
    await setRoute(store, 'default', 'http://127.0.0.1:1000');
    const front = await createFrontEnd({ store, logger: silentLogger, statsPublishIntervalMs: 10 });
    assert.equal(front.watcher.route('default')?.target, 'http://127.0.0.1:1000');
    const result = await setRoute(store, 'default', 'http://127.0.0.1:2000');
    await waitFor(async () => (await store.listFronts()).some((report) => report.version === result.version), {
      what: 'heartbeat with new version',
    });
    const done = front.stats.begin('POST');
    await waitFor(async () => (await store.listFronts())[0]?.inFlightWrites === 1, { what: 'in-flight write reported' });
    done();
    done();
    await waitFor(async () => (await store.listFronts())[0]?.inFlightWrites === 0, { what: 'drained' });
    assert.equal(front.stats.inFlight, 0);
    await front.close();
    assert.deepEqual(await store.listFronts(), [], 'a closed front end removes its heartbeat');
    await store.close();
  });
});
