// Front ends never disagree silently (issue 8, point 3): several watchers on one real redis-server
// while bare SETs write valid and invalid routes at random sub-millisecond intervals. After the
// last valid write every watcher holds it; while an invalid value is stored every watcher says so
// in `invalidKeys`; the next valid write converges everyone. Reproducible: the seed is printed on
// failure and can be replayed with SWITCHYARD_RACE_SEED=<seed>.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import { createStore, type Store, silentLogger, Watcher } from '../src/index';

const KEY = 'switchyard:route:default';
const MARKER_KEY = 'switchyard:route:marker';
const WATCHERS = 3;
const TRIALS = Number(process.env.SWITCHYARD_RACE_TRIALS ?? 40);
const SEED = Number(process.env.SWITCHYARD_RACE_SEED ?? 20261126);

/** mulberry32: a small seeded generator, so a failing run can be replayed exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let redis: RedisServer;
const stores: Store[] = [];
const watchers: Watcher[] = [];

before(async () => {
  redis = await RedisServer.start();
  await redis.cli.set(KEY, 'http://127.0.0.1:1000');
  for (let index = 0; index < WATCHERS; index += 1) {
    // One store per watcher: separate connections, as separate front ends have.
    const store = createStore(redis.url, { logger: silentLogger });
    const watcher = new Watcher(store, { logger: silentLogger, resyncIntervalMs: 60_000 });
    stores.push(store);
    watchers.push(watcher);
    await watcher.start();
  }
});

after(async () => {
  for (const watcher of watchers) await watcher.close();
  for (const store of stores) await store.close();
  await redis.stop();
});

test(`valid and invalid bare SETs racing: watchers agree or report the invalid value (seed ${SEED}, ${TRIALS} trials)`, async (t) => {
  const next = random(SEED);
  let split = 0;
  for (let trial = 0; trial < TRIALS; trial += 1) {
    const context = `seed ${SEED}, trial ${trial}`;
    // A valid write converges everyone, whatever the previous trial left.
    const base = `http://127.0.0.1:${2000 + trial}`;
    await redis.cli.set(KEY, base);
    await waitFor(() => watchers.every((watcher) => watcher.route('default')?.target === base && watcher.invalidKeys.length === 0), {
      what: `every watcher on ${base} with nothing invalid (${context})`,
    });

    const writes = 1 + Math.floor(next() * (next() < 0.2 ? 1000 : 60));
    const written: string[] = [];
    const replies: Promise<unknown>[] = [];
    for (let index = 0; index < writes; index += 1) {
      const value =
        next() < 0.5 ? `http://10.${trial % 250}.${Math.floor(index / 250)}.${index % 250}:${3000 + index}` : `garbage ${trial}-${index}`;
      written.push(value);
      replies.push(redis.cli.set(KEY, value));
      // Sub-millisecond gaps: none (pipelined), one turn of the event loop, or one round trip.
      const gap = next();
      if (gap < 0.3) await nextTurn();
      else if (gap < 0.5) await replies[replies.length - 1];
    }
    await Promise.all(replies);
    // Invalidations reach each watcher in write order, so once a watcher has seen the marker it has
    // read the route after the last write above.
    const marker = `http://127.0.0.1:${(trial % 50_000) + 10_000}`;
    await redis.cli.set(MARKER_KEY, marker);
    await waitFor(() => watchers.every((watcher) => watcher.route('marker')?.target === marker), {
      what: `every watcher past the burst (${context})`,
    });

    const last = written[written.length - 1] as string;
    const lastValid = [base, ...written].filter((value) => value.startsWith('http://')).pop() as string;
    if (last === lastValid) {
      for (const [index, watcher] of watchers.entries()) {
        assert.equal(watcher.route('default')?.target, last, `watcher ${index} holds the last valid write (${context}, ${writes} writes)`);
        assert.deepEqual(watcher.invalidKeys, [], `watcher ${index} reports nothing invalid (${context})`);
      }
    } else {
      for (const [index, watcher] of watchers.entries()) {
        assert.deepEqual(watcher.invalidKeys, [KEY], `watcher ${index} reports the invalid stored value (${context}, ${writes} writes)`);
        const held = watcher.route('default')?.target;
        assert.ok(held !== undefined && [base, ...written].includes(held), `watcher ${index} keeps a good value (${context})`);
      }
      if (new Set(watchers.map((watcher) => watcher.route('default')?.target)).size > 1) split += 1;
    }
  }
  // Which good value each watcher keeps depends on which writes its reads happened to see: the
  // split is real and unavoidable with bare SETs; what matters is that it is reported (above).
  t.diagnostic(`${split} of ${TRIALS} trials ended with an invalid value and the watchers keeping different good values`);
});
