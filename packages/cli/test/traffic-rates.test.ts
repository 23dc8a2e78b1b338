import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRates, ratesChanged, TrafficRates } from '../src/traffic-rates';

const OLD = 'http://10.0.0.1:3000';
const NEW = 'http://10.0.0.2:3000';

function beat(id: string, atMs: number, servedByTarget?: Record<string, number>) {
  return { id, updatedAt: new Date(Date.UTC(2026, 10, 26, 14, 0, 0) + atMs).toISOString(), ...(servedByTarget ? { servedByTarget } : {}) };
}

test('rates per target, summed over front ends, from the heartbeats’ own times', () => {
  const rates = new TrafficRates({ windowMs: 3000 });
  assert.deepEqual([...rates.update([beat('a', 0, { [OLD]: 100 }), beat('b', 0, { [OLD]: 50 })])], [], 'one reading: no rate yet');
  const first = rates.update([beat('a', 1000, { [OLD]: 200 }), beat('b', 1000, { [OLD]: 100 })]);
  assert.deepEqual([...first], [[OLD, 150]]);
  // Read again before the next heartbeat: the same readings, the same rate (not zero, not doubled).
  assert.deepEqual([...rates.update([beat('a', 1000, { [OLD]: 200 }), beat('b', 1000, { [OLD]: 100 })])], [[OLD, 150]]);
});

test('during a switch the old target falls to 0 and the new one takes over', () => {
  const rates = new TrafficRates({ windowMs: 1000 });
  rates.update([beat('a', 0, { [OLD]: 1000 })]);
  rates.update([beat('a', 1000, { [OLD]: 1100 })]);
  const switching = rates.update([beat('a', 2000, { [OLD]: 1150, [NEW]: 50 })]);
  assert.deepEqual(
    [...switching],
    [
      [OLD, 50],
      [NEW, 50],
    ],
  );
  const after = rates.update([beat('a', 3000, { [OLD]: 1150, [NEW]: 150 })]);
  assert.deepEqual(
    [...after],
    [
      [NEW, 100],
      [OLD, 0],
    ],
  );
  assert.equal(formatRates(after), `${NEW} 100 req/s · ${OLD} 0 req/s`);
});

test('a restarted front end counts from zero; one that left is forgotten; old heartbeats without counters are fine', () => {
  const rates = new TrafficRates({ windowMs: 1000 });
  rates.update([beat('a', 0, { [OLD]: 500 }), beat('old-version', 0)]);
  const restarted = rates.update([beat('a', 1000, { [OLD]: 20 }), beat('old-version', 1000)]);
  assert.deepEqual([...restarted], [[OLD, 20]]);
  assert.deepEqual([...rates.update([])], []);
  assert.deepEqual([...rates.update([beat('a', 2000, { [OLD]: 40 })])], [], 'after leaving, a front end starts over');
});

test('formatRates keeps small rates readable', () => {
  assert.equal(formatRates(new Map([[NEW, 2.5]])), `${NEW} 2.5 req/s`);
  assert.equal(formatRates(new Map()), '');
});

test('ratesChanged: steady traffic is quiet, a switch is not', () => {
  const steady = new Map([[OLD, 150]]);
  assert.equal(ratesChanged(steady, new Map([[OLD, 140]])), false);
  assert.equal(ratesChanged(steady, new Map([[OLD, 100]])), true);
  assert.equal(ratesChanged(new Map([[OLD, 0.4]]), new Map([[OLD, 0.9]])), false, 'under 1 req/s of difference');
  assert.equal(
    ratesChanged(
      steady,
      new Map([
        [OLD, 150],
        [NEW, 0],
      ]),
    ),
    true,
    'a new target',
  );
});
