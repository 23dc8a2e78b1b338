// The foundation's promise, end to end: two real front-end processes (the Koa and the Express
// examples) on one real Redis; a flip by bare SET or by the CLI reaches both within milliseconds;
// Redis dying during traffic fails no request; maintenance from one CLI call reaches both.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli';
import { type FrontProcess, startExampleFront } from './support/front-process';
import { request } from './support/http-client';
import { RedisServer } from './support/redis-server';
import { startEchoUpstream, type Upstream } from './support/upstream';
import { waitFor } from './support/wait';

/** What this file provokes on purpose: an outage, a Redis that comes back empty, malformed values. */
const EXPECTED_EVENTS = new Set(['store-unreachable', 'store-reachable', 'store-lost-state', 'store-followed-again', 'invalid-value']);

/** The stable `event` field of each stderr line (a line that is not a structured log shows as itself). */
function logEvents(front: FrontProcess): string[] {
  return front
    .stderr()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return String((JSON.parse(line) as { event?: unknown }).event ?? line);
      } catch {
        return line;
      }
    });
}

describe('two front-end processes on one Redis', () => {
  let redis: RedisServer;
  let blue: Upstream;
  let green: Upstream;
  let fronts: FrontProcess[];
  const upstreamOf = async (front: FrontProcess) => (await request(`${front.url}/whoami`)).headers['x-upstream'];

  before(async () => {
    redis = await RedisServer.start();
    blue = await startEchoUpstream('blue');
    green = await startEchoUpstream('green');
    await redis.cli.set('switchyard:route:default', blue.url);
    fronts = await Promise.all(
      (['koa-front', 'express-front'] as const).map((name) => startExampleFront(name, { SWITCHYARD_REDIS_URL: redis.url })),
    );
    for (const front of fronts) assert.equal(await upstreamOf(front), 'blue');
  });

  after(async () => {
    await Promise.all(fronts.map((front) => front.stop()));
    await Promise.all([blue.close(), green.close()]);
    await redis.stop();
  });

  test('a bare redis-cli SET reaches both front ends within milliseconds', async (t) => {
    const latencies: number[] = [];
    for (let flip = 0; flip < 20; flip += 1) {
      const next = flip % 2 === 0 ? green : blue;
      const name = flip % 2 === 0 ? 'green' : 'blue';
      const sentAt = performance.now();
      await redis.cli.set('switchyard:route:default', next.url);
      await Promise.all(
        fronts.map((front) => waitFor(async () => (await upstreamOf(front)) === name, { intervalMs: 0, what: `flip to ${name}` })),
      );
      latencies.push(performance.now() - sentAt);
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)]!;
    const worst = latencies[latencies.length - 1]!;
    t.diagnostic(
      `flip seen by both front ends (SET → response from the new upstream): median ${median.toFixed(1)} ms, worst ${worst.toFixed(1)} ms`,
    );
    // Generous on a loaded 2-core machine; the bench reports the real figures.
    assert.ok(worst < 1000, `worst flip took ${worst} ms`);
  });

  test('the CLI flips both and waits for them to converge', async () => {
    await redis.cli.set('switchyard:route:default', blue.url);
    const result = await runCli(['route', 'set', green.url, '--json'], { SWITCHYARD_REDIS_URL: redis.url });
    assert.equal(result.code, 0, result.stderr);
    for (const front of fronts) assert.equal(await upstreamOf(front), 'green', 'converged before the CLI returned');
  });

  test('a malformed value is ignored by both; the last good route stays in force', async () => {
    // Self-contained (runs alone with --test-name-pattern): both on green first.
    await redis.cli.set('switchyard:route:default', green.url);
    await Promise.all(fronts.map((front) => waitFor(async () => (await upstreamOf(front)) === 'green', { what: 'both on green' })));
    const warnings = (front: FrontProcess) =>
      front
        .stderr()
        .split('\n')
        .filter((line) => line.startsWith('{') && (JSON.parse(line) as { key?: string }).key === 'switchyard:route:default').length;
    const before = fronts.map(warnings);
    for (const [index, bad] of ['definitely not a url', 'tcp://10.0.0.9:5432'].entries()) {
      await redis.cli.set('switchyard:route:default', bad);
      await Promise.all(
        fronts.map((front, at) => waitFor(() => warnings(front) === (before[at] ?? 0) + index + 1, { what: `${bad} reported once` })),
      );
      for (const front of fronts) assert.equal(await upstreamOf(front), 'green');
    }
    // status says so loudly (exit 1), naming the key; both front ends still apply the same state and list the key.
    const result = await runCli(['status', '--json'], { SWITCHYARD_REDIS_URL: redis.url });
    assert.equal(result.code, 1, result.stderr);
    const status = JSON.parse(result.stdout) as {
      problems: { kind: string; message: string }[];
      fronts: { digest: string; invalidKeys: string[] }[];
    };
    assert.deepEqual(
      status.problems.map((problem) => problem.kind),
      ['invalid-value'],
    );
    assert.ok(status.problems[0]?.message.includes('switchyard:route:default'), 'the problem names the key');
    assert.equal(status.fronts.length, 2);
    assert.deepEqual(
      status.fronts.map((front) => front.invalidKeys),
      [['switchyard:route:default'], ['switchyard:route:default']],
    );
    assert.equal(new Set(status.fronts.map((front) => front.digest)).size, 1, 'no split');
    await redis.cli.set('switchyard:route:default', green.url);
  });

  test('Redis killed during traffic: zero failed requests; restarted: the next flip is seen', async () => {
    let failures = 0;
    let served = 0;
    let running = true;
    const loops = fronts.flatMap((front) =>
      [0, 1].map(async () => {
        while (running) {
          const response = await request(`${front.url}/traffic`).catch(() => undefined);
          // After the restart the route flips to blue; either upstream is a success.
          if (response?.status === 200) served += 1;
          else failures += 1;
        }
      }),
    );
    await waitFor(() => served > 50, { what: 'traffic before the outage' });
    await redis.kill();
    const servedAtKill = served;
    await waitFor(() => served > servedAtKill + 200, { timeoutMs: 20_000, what: 'traffic during the outage' });
    await redis.restart();
    await redis.cli.set('switchyard:route:default', blue.url);
    await Promise.all(
      fronts.map((front) => waitFor(async () => (await upstreamOf(front)) === 'blue', { timeoutMs: 15_000, what: 'flip after restart' })),
    );
    running = false;
    await Promise.all(loops);
    assert.equal(failures, 0, `${failures} requests failed`);
    for (const front of fronts) {
      const events = logEvents(front);
      assert.equal(events.filter((event) => event === 'store-unreachable').length, 1, 'the outage is logged once');
      assert.equal(events.filter((event) => event === 'store-reachable').length, 1, 'the recovery is logged once');
      // The test's Redis keeps nothing on disk, so it comes back empty: the front ends keep routing.
      assert.equal(events.filter((event) => event === 'store-lost-state').length, 1, 'the lost state is logged once');
    }
  });

  test('maintenance from one CLI call reaches both front ends, and leaves them', async () => {
    const on = await runCli(['maintenance', 'on', '--message', 'Moving to a new server', '--retry-after', '60'], {
      SWITCHYARD_REDIS_URL: redis.url,
    });
    assert.equal(on.code, 0, on.stderr);
    for (const front of fronts) {
      const response = await request(`${front.url}/page`);
      assert.equal(response.status, 503);
      assert.equal(response.headers['retry-after'], '60');
      assert.match(response.body, /Moving to a new server/);
    }
    const off = await runCli(['maintenance', 'off'], { SWITCHYARD_REDIS_URL: redis.url });
    assert.equal(off.code, 0, off.stderr);
    for (const front of fronts) assert.equal((await request(`${front.url}/page`)).status, 200);
  });

  test('nothing on stderr but the reported outage and bad values, and a clean exit on SIGTERM', async () => {
    for (const front of fronts) {
      const noise = logEvents(front).filter((event) => !EXPECTED_EVENTS.has(event));
      assert.deepEqual(noise, []);
      assert.equal(await front.stop(), 0);
    }
  });
});
