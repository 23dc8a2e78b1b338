import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createStore, type FrontEnd, readValue, type Store, setMaintenance, setRoute } from '@switchyard/core';
import { CutoverError, type CutoverEvent, cutover } from '../src/index';
import { type AppServer, startAppServer } from './helpers/app-server';
import { startFrontEnd } from './helpers/front-ends';

// The library as the migration demo drives it: an in-process memory:// store, in-process front
// ends, and async functions as sync and verify steps.
describe('cutover() in process on a memory store', () => {
  let store: Store;
  let fronts: FrontEnd[];
  let oldApp: AppServer;
  let newApp: AppServer;

  before(async () => {
    store = createStore('memory://cutover-library');
    [oldApp, newApp] = await Promise.all([startAppServer('old'), startAppServer('new')]);
    fronts = await Promise.all([startFrontEnd(store), startFrontEnd(store)]);
  });

  beforeEach(async () => {
    await setRoute(store, 'default', oldApp.url);
    await setMaintenance(store, 'default', null);
  });

  after(async () => {
    await Promise.all(fronts.map((front) => front.close()));
    await store.close();
    await Promise.all([oldApp.close(), newApp.close()]);
  });

  test('every front end is in read-only maintenance during the sync and on the new target during verify', async () => {
    const seen: string[] = [];
    const events: CutoverEvent[] = [];
    const report = await cutover({
      store,
      to: newApp.url,
      hold: 500,
      sync: async ({ log, from, to }) => {
        for (const front of fronts) {
          assert.equal(front.watcher.maintenance('default')?.mode, 'read-only');
          assert.equal(front.watcher.maintenance('default')?.hold, 500);
          assert.equal(front.watcher.route('default')?.target, oldApp.url);
        }
        log(`copy ${from} → ${to}`);
        seen.push('sync');
      },
      verify: async () => {
        for (const front of fronts) {
          assert.equal(front.watcher.route('default')?.target, newApp.url);
          assert.equal(front.watcher.maintenance('default')?.mode, 'read-only');
        }
        seen.push('verify');
      },
      onEvent: (event) => events.push(event),
    });
    assert.deepEqual(seen, ['sync', 'verify']);
    assert.equal(report.outcome, 'done');
    assert.deepEqual(
      report.steps.map((step) => step.step),
      ['preflight', 'maintenance', 'drain', 'sync', 'switch', 'verify', 'restore'],
    );
    assert.ok(report.maintenanceWindowMs !== null && report.maintenanceWindowMs <= report.totalMs);
    assert.ok(
      events.some((event) => event.type === 'output' && event.stream === 'log' && event.line === `copy ${oldApp.url} → ${newApp.url}`),
    );
    for (const front of fronts) {
      assert.equal(front.watcher.route('default')?.target, newApp.url);
      assert.equal(front.watcher.maintenance('default'), undefined);
    }
    assert.equal(await store.getCutover('default'), null);
  });

  test('two cutovers of one site started at the same moment: one runs, the other refuses before changing anything', async () => {
    const results = await Promise.allSettled([
      cutover({ store, to: newApp.url, sync: async () => undefined }),
      cutover({ store, to: newApp.url, sync: async () => undefined }),
    ]);
    const done = results.filter((result) => result.status === 'fulfilled');
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as CutoverError] : []));
    assert.equal(done.length, 1);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.code, 'SWITCHYARD_ERR_CUTOVER_IN_PROGRESS');
    for (const front of fronts) {
      assert.equal(front.watcher.route('default')?.target, newApp.url);
      assert.equal(front.watcher.maintenance('default'), undefined, 'the refused one left no maintenance behind');
    }
    assert.equal(await store.getCutover('default'), null);
  });

  test('a readiness check is polled until it passes', async () => {
    let checks = 0;
    const report = await cutover({
      store,
      to: newApp.url,
      untilReady: async () => {
        checks += 1;
        return checks === 3;
      },
      readyIntervalMs: 10,
    });
    assert.equal(checks, 3);
    assert.match(report.steps.find((step) => step.step === 'sync')?.detail ?? '', /ready after 3 check\(s\)/);
  });

  test('aborting during the sync puts everything back and rejects with SWITCHYARD_ERR_ABORTED', async () => {
    const controller = new AbortController();
    const failure = await cutover({
      store,
      to: newApp.url,
      signal: controller.signal,
      sync: async ({ signal }) => {
        controller.abort();
        signal.throwIfAborted();
      },
    }).catch((error: unknown) => error);
    assert.ok(failure instanceof CutoverError, String(failure));
    assert.equal(failure.code, 'SWITCHYARD_ERR_ABORTED');
    assert.equal(failure.step, 'sync');
    assert.deepEqual(failure.cleanup, {
      routeRestored: false,
      maintenanceRestored: true,
      journalKept: false,
      problems: [],
      summary: `route untouched (${oldApp.url}), maintenance restored (off)`,
    });
    assert.equal(await readValue(store, 'route', 'default'), oldApp.url);
    assert.equal(await readValue(store, 'maintenance', 'default'), null);
    for (const front of fronts) assert.equal(front.watcher.maintenance('default'), undefined);
  });

  test('the drain waits for writes in flight; writes that do not finish in time abort the cutover', async () => {
    const finishWrite = fronts[0]?.stats.begin('POST') as () => void;
    let timer: NodeJS.Timeout | undefined;
    const report = await cutover({
      store,
      to: newApp.url,
      skipHealthCheck: true,
      onEvent: (event) => {
        if (event.type === 'step-start' && event.step === 'drain') timer = setTimeout(finishWrite, 200);
      },
    });
    clearTimeout(timer);
    const drain = report.steps.find((step) => step.step === 'drain');
    assert.ok((drain?.ms ?? 0) >= 150, `drain took ${drain?.ms} ms`);

    await setRoute(store, 'default', oldApp.url);
    const stuckWrite = fronts[1]?.stats.begin('PUT') as () => void;
    try {
      const failure = await cutover({ store, to: newApp.url, drainTimeoutMs: 200 }).catch((error: unknown) => error);
      assert.ok(failure instanceof CutoverError);
      assert.equal(failure.code, 'SWITCHYARD_ERR_CUTOVER_FAILED');
      assert.match(
        failure.message,
        /^cutover of default failed at drain: writes still in flight after 200 ms: \S+ \(.+\) 1 write\(s\); .+; route untouched .+, maintenance restored \(off\)$/,
      );
      assert.equal(await readValue(store, 'maintenance', 'default'), null);
    } finally {
      stuckWrite();
    }
  });
});
