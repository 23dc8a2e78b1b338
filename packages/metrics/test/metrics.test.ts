import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, createStore, type FrontEnd, type Store, setMaintenance, setRoute, silentLogger } from '@switchyard/core';
import { createFrontDoor, type FrontDoor } from '@switchyard/proxy';
import { request } from '../../../test/support/http-client';
import { freePort } from '../../../test/support/ports';
import { RedisServer } from '../../../test/support/redis-server';
import { startEchoUpstream, startUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { createMetrics, type SwitchyardMetrics } from '../src/index';

/** One sample of a scrape: `name{labels}` → value. */
type Samples = Map<string, number>;

function parseScrape(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

describe('@switchyard/metrics on a front door, scraped over HTTP', () => {
  let redis: RedisServer;
  let store: Store;
  let frontEnd: FrontEnd;
  let metrics: SwitchyardMetrics;
  let door: FrontDoor;
  let url: string;
  let scrapeUrl: string;
  let scrapeServer: Server;
  let oldApp: Upstream;
  let newApp: Upstream;
  let silent: Upstream;
  let resetting: Upstream;
  let slow: Upstream;
  const waiting: ServerResponse[] = [];

  before(async () => {
    redis = await RedisServer.start();
    [oldApp, newApp] = await Promise.all([startEchoUpstream('old'), startEchoUpstream('new')]);
    silent = await startUpstream(() => undefined);
    resetting = await startUpstream((req) => req.socket.destroy());
    slow = await startUpstream((req, res) => {
      req.resume();
      waiting.push(res);
    });
    store = createStore(redis.url, { logger: silentLogger });
    await setRoute(store, 'default', oldApp.url);
    frontEnd = await createFrontEnd({ store: redis.url, logger: silentLogger });
    metrics = createMetrics({ frontEnd });
    door = createFrontDoor({ frontEnd, proxy: { timeoutMs: 300 }, observers: [metrics.observe] });
    const server = await door.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    scrapeServer = createServer(metrics.handler);
    scrapeServer.listen(0, '127.0.0.1');
    await once(scrapeServer, 'listening');
    scrapeUrl = `http://127.0.0.1:${(scrapeServer.address() as AddressInfo).port}/metrics`;
  });

  after(async () => {
    for (const res of waiting) res.destroy();
    metrics?.close();
    await door?.close({ graceMs: 100 });
    scrapeServer?.close();
    await store?.close();
    await Promise.all([oldApp, newApp, silent, resetting, slow].map((upstream) => upstream?.close()));
    await redis?.stop();
  });

  async function scrape(): Promise<Samples> {
    const response = await request(scrapeUrl);
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parseScrape(response.body);
  }

  test('a scrape during a flip: requests by target and status class, latency, the version and the time the flip took to apply', async () => {
    let running = true;
    const answeredBy: string[] = [];
    const load = (async () => {
      while (running) {
        const response = await request(`${url}/page`);
        answeredBy.push(JSON.parse(response.body).name as string);
      }
    })();
    await waitFor(() => answeredBy.includes('old'), { what: 'traffic to the old server' });
    const flip = await setRoute(store, 'default', newApp.url);
    await waitFor(() => answeredBy.at(-1) === 'new', { what: 'traffic to the new server' });
    // Scraped while the load still runs.
    const during = await scrape();
    running = false;
    await load;
    const old = during.get(`switchyard_requests_total{site="default",target="${oldApp.url}",status_class="2xx"}`) ?? 0;
    const fresh = during.get(`switchyard_requests_total{site="default",target="${newApp.url}",status_class="2xx"}`) ?? 0;
    assert.ok(old >= 1 && fresh >= 1, `old ${old}, new ${fresh}`);
    assert.ok((during.get(`switchyard_request_duration_seconds_count{site="default",target="${newApp.url}"}`) ?? 0) >= 1);
    assert.equal(during.get('switchyard_state_version'), flip.version);
    assert.ok((during.get('switchyard_state_apply_seconds_count') ?? 0) >= 1, 'the flip was timed');
    assert.ok((during.get('switchyard_state_apply_seconds_sum') ?? 1) < 1, 'applied in well under a second');
    assert.equal(during.get('switchyard_redis_connected'), 1);
    assert.equal(during.get(`switchyard_front_end_info{front_end="${frontEnd.id}"}`), 1);
    // A request's own headers never become labels: only targets from the store appear.
    const targets = new Set([...during.keys()].flatMap((key) => /target="([^"]*)"/.exec(key)?.[1] ?? []));
    assert.deepEqual([...targets].sort(), [newApp.url, oldApp.url].sort());
  });

  test('upstream failures by kind: refused, timeout, reset', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    for (const [target, status] of [
      [dead, 502],
      [silent.url, 504],
      [resetting.url, 502],
    ] as const) {
      await setRoute(store, 'default', target);
      await waitFor(() => frontEnd.watcher.route('default')?.target === target, { what: `route ${target}` });
      assert.equal((await request(`${url}/fails`)).status, status);
    }
    const samples = await scrape();
    assert.equal(samples.get(`switchyard_upstream_failures_total{site="default",target="${dead}",kind="refused"}`), 1);
    assert.equal(samples.get(`switchyard_upstream_failures_total{site="default",target="${silent.url}",kind="timeout"}`), 1);
    assert.equal(samples.get(`switchyard_upstream_failures_total{site="default",target="${resetting.url}",kind="reset"}`), 1);
    assert.equal(samples.get(`switchyard_requests_total{site="default",target="${silent.url}",status_class="5xx"}`), 1);
  });

  test('maintenance held and refused, writes in flight', async () => {
    await setRoute(store, 'default', slow.url);
    await setMaintenance(store, 'default', { mode: 'read-only', hold: 10_000 });
    await waitFor(() => frontEnd.watcher.maintenance('default'), { what: 'maintenance applied' });
    const held = request(`${url}/order`, { method: 'POST', body: 'x' });
    await waitFor(() => frontEnd.stats.held === 1, { what: 'a held request' });
    assert.equal((await scrape()).get('switchyard_held_requests'), 1);
    await setMaintenance(store, 'default', null);
    await waitFor(() => waiting.length === 1, { what: 'the held write reaching the upstream' });
    const inFlight = await scrape();
    assert.equal(inFlight.get('switchyard_held_requests'), 0);
    assert.equal(inFlight.get('switchyard_in_flight_writes'), 1);
    assert.equal(inFlight.get('switchyard_in_flight_requests'), 1);
    waiting.shift()?.end('done');
    assert.equal((await held).status, 200);
    await setMaintenance(store, 'default', { mode: 'on' });
    await waitFor(() => frontEnd.watcher.maintenance('default'), { what: 'maintenance applied' });
    assert.equal((await request(`${url}/order`, { method: 'POST', body: 'x' })).status, 503);
    await setMaintenance(store, 'default', null);
    const after = await scrape();
    assert.equal(after.get('switchyard_maintenance_requests_total{site="default",outcome="held"}'), 1);
    assert.equal(after.get('switchyard_maintenance_requests_total{site="default",outcome="refused"}'), 1);
    assert.equal(after.get('switchyard_in_flight_writes'), 0);
  });

  test('only GET and HEAD are answered', async () => {
    assert.equal((await request(scrapeUrl, { method: 'POST' })).status, 405);
    const head = await request(scrapeUrl, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('invalid_keys counts a malformed value kept out of force', async () => {
    assert.equal((await scrape()).get('switchyard_invalid_keys'), 0);
    await redis.cli.set('switchyard:route:broken', 'not a url');
    await waitFor(async () => (await scrape()).get('switchyard_invalid_keys') === 1, { what: 'invalid_keys 1' });
    await redis.cli.del('switchyard:route:broken');
    await waitFor(async () => (await scrape()).get('switchyard_invalid_keys') === 0, { what: 'invalid_keys 0' });
    assert.equal((await scrape()).get('switchyard_lost_state'), 0);
  });

  test('redis_connected drops to 0 while Redis is down', async () => {
    await redis.stop();
    const down = await waitFor(
      async () => {
        const samples = await scrape();
        return samples.get('switchyard_redis_connected') === 0 ? samples : undefined;
      },
      { what: 'redis_connected 0' },
    );
    assert.equal(down?.get('switchyard_redis_connected'), 0);
  });
});
