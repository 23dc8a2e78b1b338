// What a front end tells operators in its heartbeat (CONTRACTS.md §1): invalid stored values it
// ignores, state it keeps after Redis lost it (and how to restore it), requests per target.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import {
  createLogger,
  createStore,
  DEFAULT_REDIS_URL,
  FrontEnd,
  type FrontEndReport,
  restoreKeptState,
  setRoute,
  silentLogger,
} from '../src/index';
import { RateLimitedWarnings } from '../src/rate-limited-log';

const ownReport = async (front: FrontEnd): Promise<FrontEndReport | undefined> =>
  (await front.store.listFronts()).find((report) => report.id === front.id);

describe('heartbeat fields', () => {
  test('invalidKeys names a stored value the front end ignores, until a valid write; servedByTarget counts per target', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
    const front = new FrontEnd({ store: redis.url, logger: silentLogger, heartbeatIntervalMs: 100, statsPublishIntervalMs: 10 });
    t.after(() => front.close());
    await front.start();
    const initial = await ownReport(front);
    assert.deepEqual([initial?.invalidKeys, initial?.lostState, initial?.kept, initial?.servedByTarget], [[], false, undefined, {}]);

    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:2222/\r\nX-Injected: 1');
    await waitFor(async () => (await ownReport(front))?.invalidKeys.includes('switchyard:route:default'), { what: 'invalid key reported' });
    assert.equal(front.watcher.route('default')?.target, 'http://127.0.0.1:1111', 'the last good value stays');

    front.stats.begin('GET', 'http://127.0.0.1:1111')();
    front.stats.begin('POST', 'http://127.0.0.1:1111')();
    front.stats.begin('GET', 'http://127.0.0.1:3333')();
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:3333');
    await waitFor(
      async () => {
        const report = await ownReport(front);
        return report?.invalidKeys.length === 0 && report.servedByTarget['http://127.0.0.1:1111'] === 2;
      },
      { what: 'invalid key cleared and requests counted' },
    );
    assert.deepEqual((await ownReport(front))?.servedByTarget, { 'http://127.0.0.1:1111': 2, 'http://127.0.0.1:3333': 1 });
  });

  test('Redis restarted empty: lostState and kept are reported; restoreKeptState makes the front follow Redis again', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    const operator = createStore(redis.url, { logger: silentLogger });
    t.after(() => operator.close());
    await setRoute(operator, 'default', 'http://127.0.0.1:1111');
    await setRoute(operator, 'blog', 'http://127.0.0.1:1112');
    const front = new FrontEnd({ store: redis.url, logger: silentLogger, heartbeatIntervalMs: 100, resyncIntervalMs: 100 });
    t.after(() => front.close());
    await front.start();
    await redis.kill();
    await waitFor(() => !front.watcher.connected, { what: 'outage noticed' });
    await redis.restart();
    const lost = await waitFor(async () => ((await ownReport(front))?.lostState ? ownReport(front) : undefined), {
      what: 'lost state reported',
      timeoutMs: 10_000,
    });
    assert.deepEqual(lost?.kept, {
      version: 2,
      values: { 'switchyard:route:default': 'http://127.0.0.1:1111', 'switchyard:route:blog': 'http://127.0.0.1:1112' },
    });

    // The operator's store reconnects on its back-off (up to 1 s) and fails fast until then.
    await waitFor(() => operator.history(1).then(() => true), { what: "the operator's store to reconnect", timeoutMs: 10_000 });
    await restoreKeptState(operator, lost?.kept as NonNullable<FrontEndReport['kept']>, { actor: 'ops@here' });
    await waitFor(
      async () => {
        const report = await ownReport(front);
        return report && !report.lostState && report.kept === undefined && report.version === 3;
      },
      { what: 'front follows the restored store' },
    );
    assert.equal(front.watcher.route('blog')?.target, 'http://127.0.0.1:1112', 'nothing was dropped');
    // Following Redis again: a deletion is applied now.
    await redis.cli.del('switchyard:route:blog');
    await waitFor(() => front.watcher.site('blog') === undefined, { what: 'deletion followed' });
  });

  test('a report written by an older front end reads with defaults', async (t) => {
    const redis = await RedisServer.start();
    const store = createStore(redis.url, { logger: silentLogger });
    t.after(async () => {
      await store.close();
      await redis.stop();
    });
    const old = { id: 'old-1', host: 'h', pid: 1, startedAt: '', updatedAt: '', version: 3, digest: 'abc', connected: true };
    await redis.cli.set('switchyard:front:old-1', JSON.stringify({ ...old, inFlight: 0, inFlightWrites: 0, held: 0, refused: 0 }));
    const [report] = await store.listFronts();
    assert.deepEqual([report?.id, report?.invalidKeys, report?.lostState, report?.servedByTarget], ['old-1', [], false, {}]);
  });
});

describe('warnings about malformed values', () => {
  test('1000 distinct bad values give a few lines per key per interval, not one per value', async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
    const lines: string[] = [];
    const front = new FrontEnd({ store: redis.url, logger: createLogger('warn', (line) => lines.push(line)) });
    t.after(() => front.close());
    await front.start();
    let seen = 0;
    front.watcher.on('invalid', () => {
      seen += 1;
    });
    for (let index = 0; index < 1000; index += 1) await redis.cli.set('switchyard:route:default', `garbage-${index}`);
    await redis.cli.set('switchyard:route:other', 'garbage');
    await waitFor(() => front.watcher.invalidKeys.length === 2, { what: 'both keys invalid' });
    const malformed = lines.filter((line) => JSON.parse(line).event === 'invalid-value');
    assert.ok(seen > 10, `the watcher saw many distinct bad values (${seen})`);
    // Three per key per 10 s: an operator's successive typos stay visible, a flood does not fill the disk.
    assert.deepEqual(
      malformed.map((line) => JSON.parse(line).key),
      ['switchyard:route:default', 'switchyard:route:default', 'switchyard:route:default', 'switchyard:route:other'],
    );
  });

  test('the next line after the interval says how many were suppressed', () => {
    const lines: Record<string, unknown>[] = [];
    // At most two lines per key per second here.
    const warnings = new RateLimitedWarnings(
      createLogger('warn', (line) => lines.push(JSON.parse(line))),
      1000,
      2,
    );
    for (let index = 0; index < 6; index += 1) warnings.warn('k', { n: index }, 'bad', 10_000 + index);
    warnings.warn('other', { n: 0 }, 'bad', 10_010);
    warnings.warn('k', { n: 6 }, 'bad', 11_000);
    assert.deepEqual(
      lines.map(({ n, suppressed }) => ({ n, suppressed })),
      [
        { n: 0, suppressed: undefined },
        { n: 1, suppressed: undefined },
        { n: 0, suppressed: undefined },
        { n: 6, suppressed: 4 },
      ],
    );
  });
});

test('createFrontEnd without a store uses SWITCHYARD_REDIS_URL, else Redis on localhost, never memory://', async (t) => {
  const saved = process.env.SWITCHYARD_REDIS_URL;
  t.after(() => {
    if (saved === undefined) delete process.env.SWITCHYARD_REDIS_URL;
    else process.env.SWITCHYARD_REDIS_URL = saved;
  });
  delete process.env.SWITCHYARD_REDIS_URL;
  // Not started: nothing connects to the machine's own Redis.
  const fallback = new FrontEnd({ logger: silentLogger });
  assert.equal(fallback.store.description, DEFAULT_REDIS_URL);
  assert.equal(DEFAULT_REDIS_URL, 'redis://127.0.0.1:6379');
  await fallback.close();
  process.env.SWITCHYARD_REDIS_URL = 'redis://ops:p@ss@10.9.8.7:6390';
  const fromEnv = new FrontEnd({ logger: silentLogger });
  assert.equal(fromEnv.store.description, 'redis://ops:***@10.9.8.7:6390');
  await fromEnv.close();
});
