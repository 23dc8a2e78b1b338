// Reports wait for the reads pending in the process, but never for longer than their bound.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { describe, test } from 'node:test';
import { afterPendingReads, readEnded, readStarted } from '../src/pending-reads';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('pending reads', () => {
  test('a report waits until the last pending read ends', async () => {
    readStarted();
    readStarted();
    let called = 0;
    afterPendingReads(() => (called += 1), 60_000);
    await turn();
    readEnded();
    await turn();
    assert.equal(called, 0, 'one read still pending');
    readEnded();
    await turn();
    await turn();
    assert.equal(called, 1);
  });

  test('with nothing pending it runs on the next turn', async () => {
    let called = 0;
    afterPendingReads(() => (called += 1), 60_000);
    assert.equal(called, 0, 'never synchronously');
    await turn();
    await turn();
    assert.equal(called, 1);
  });

  test('a read that never ends delays a report by at most its bound', async () => {
    readStarted();
    const done = new EventEmitter();
    const started = performance.now();
    afterPendingReads(() => done.emit('done'), 30);
    // The bound's timer is unref'd (it must not keep a process alive); this one keeps the test's.
    const alive = setTimeout(() => undefined, 10_000);
    await once(done, 'done');
    clearTimeout(alive);
    assert.ok(performance.now() - started >= 25, 'not before the bound');
    readEnded();
  });
});
