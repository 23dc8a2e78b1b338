import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createStore, type FrontEnd, type Store, silentLogger } from '@switchyard/core';
import { runCli } from '../../../test/support/cli';
import { RedisServer } from '../../../test/support/redis-server';
import { type AppServer, startAppServer } from './helpers/app-server';
import { type FrontEndProcess, startFrontEnd, startFrontEndProcess } from './helpers/front-ends';
import { runMain } from './helpers/in-process';

interface RouteSetOutput {
  site: string;
  route: string;
  previous: string | null;
  changed: boolean;
  version: number;
  health: { url: string; status: number; ms: number } | null;
  convergence: { waited: boolean; fronts: number; ms: number };
}

describe('route commands against real Redis and two front ends', () => {
  let redis: RedisServer;
  let store: Store;
  let oldApp: AppServer;
  let newApp: AppServer;
  let local: FrontEnd;
  let remote: FrontEndProcess;

  before(async () => {
    redis = await RedisServer.start();
    store = createStore(redis.url, { logger: silentLogger });
    [oldApp, newApp] = await Promise.all([startAppServer('old'), startAppServer('new')]);
    await redis.cli.set('switchyard:route:default', oldApp.url);
    [local, remote] = await Promise.all([startFrontEnd(redis.url), startFrontEndProcess(redis.url)]);
  });

  after(async () => {
    await Promise.all([local.close(), remote.stop()]);
    await store.close();
    await Promise.all([oldApp.close(), newApp.close()]);
    await redis.stop();
  });

  test('route set: health-checked, compare-and-set, waits until both front ends apply it', async () => {
    const before = newApp.requests;
    const run = await runMain(['route', 'set', `${newApp.url}/`, '--health-path', '/healthz', '--json'], { redis: redis.url });
    assert.equal(run.code, 0, run.stderr);
    const output = run.json<RouteSetOutput>();
    assert.equal(output.site, 'default');
    assert.equal(output.route, newApp.url, 'normalised, trailing slash dropped');
    assert.equal(output.previous, oldApp.url);
    assert.equal(output.changed, true);
    assert.equal(output.health?.status, 200);
    assert.equal(output.health?.url, `${newApp.url}/healthz`);
    assert.equal(newApp.requests, before + 1, 'the health check reached the new server');
    assert.equal(output.convergence.waited, true);
    assert.equal(output.convergence.fronts, 2);
    // Converged means applied: no waiting needed after the command returns.
    assert.equal(local.watcher.route('default')?.target, newApp.url);
    const heartbeats = await store.listFronts();
    assert.ok(heartbeats.find((front) => front.id === remote.id && front.version >= output.version));
    const [entry] = await store.history(1);
    assert.equal(entry?.action, 'route set');
    assert.equal(entry?.old, oldApp.url);
    assert.equal(entry?.new, newApp.url);
  });

  test('route set to the same target changes nothing and says so', async () => {
    const run = await runMain(['route', 'set', newApp.url], { redis: redis.url });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /is already http:\/\/127\.0\.0\.1:\d+; nothing written/);
    assert.match(run.stdout, /2 front ends apply version \d+ after \d+ ms/);
  });

  test('a failing health check refuses the change: exit 1, one line, route untouched', async () => {
    oldApp.status = 503;
    try {
      const run = await runMain(['route', 'set', oldApp.url], { redis: redis.url });
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^switchyard: health check GET http:\/\/127\.0\.0\.1:\d+\/ answered 503; expected 2xx or 3xx; route not changed \(fix the new server, or pass --force to skip the check\)\n$/,
      );
      assert.equal(await redis.cli.get('switchyard:route:default'), newApp.url);
    } finally {
      oldApp.status = 200;
    }
  });

  test('an unreachable target fails the health check; --force skips it', async () => {
    const dead = createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    dead.close();
    await once(dead, 'close');
    const refused = await runMain(['route', 'set', deadUrl, '--site', 'blog'], { redis: redis.url });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /failed: ECONNREFUSED/);
    const forced = await runMain(['route', 'set', deadUrl, '--site', 'blog', '--force', '--json'], { redis: redis.url });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.json<RouteSetOutput>().health, null);
    assert.equal(await redis.cli.get('switchyard:route:blog'), deadUrl);
  });

  test('route get and route list', async () => {
    const get = await runMain(['route', 'get'], { redis: redis.url });
    assert.equal(get.code, 0);
    assert.equal(get.stdout, `${newApp.url}\n`);
    const none = await runMain(['route', 'get', '--site', 'nowhere', '--json'], { redis: redis.url });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /site "nowhere" has no route; set one with switchyard route set <url> --site nowhere/);
    const list = await runMain(['route', 'list', '--json'], { redis: redis.url });
    const sites = list.json<{ sites: { site: string; route: string; maintenance: string | null }[] }>().sites;
    assert.deepEqual(
      sites.map((site) => site.site),
      ['blog', 'default'],
    );
    assert.equal(sites.find((site) => site.site === 'default')?.route, newApp.url);
    const table = await runMain(['route', 'list'], { redis: redis.url });
    assert.match(table.stdout, /^SITE +ROUTE +MAINTENANCE\n/);
  });

  test('a front end that does not apply the change: exit 1 naming it after --timeout; --no-wait does not wait', async () => {
    const stuck = { ...local.report(), id: 'stuck-front', host: 'old-box', pid: 4242, version: 0 };
    await store.putFront(stuck, 10_000);
    try {
      const run = await runMain(['route', 'set', oldApp.url, '--timeout', '300ms'], { redis: redis.url });
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^switchyard: 1 front end\(s\) did not apply version \d+ within 300 ms: stuck-front \(old-box, pid 4242\) at version 0; check them, or raise --timeout\n$/,
      );
      assert.equal(await redis.cli.get('switchyard:route:default'), oldApp.url, 'the write itself happened');
      const noWait = await runMain(['route', 'set', newApp.url, '--no-wait', '--json'], { redis: redis.url });
      assert.equal(noWait.code, 0, noWait.stderr);
      assert.deepEqual(noWait.json<RouteSetOutput>().convergence, { waited: false, fronts: 0, ms: 0 });
    } finally {
      await store.removeFront('stuck-front');
    }
  });

  test('two concurrent route set from two processes: one wins, the other reports the conflict', async () => {
    // Both health checks are held until both arrived, so both processes read the route before either writes.
    const pending: ServerResponse[] = [];
    const barrier = createServer((_req, res) => {
      pending.push(res);
      if (pending.length === 2) for (const held of pending) held.end('ok');
    });
    barrier.listen(0, '127.0.0.1');
    await once(barrier, 'listening');
    const base = `http://127.0.0.1:${(barrier.address() as AddressInfo).port}`;
    try {
      const env = { SWITCHYARD_REDIS_URL: redis.url };
      const runs = await Promise.all([runCli(['route', 'set', `${base}/a`], env), runCli(['route', 'set', `${base}/b`], env)]);
      const codes = runs.map((run) => run.code).sort();
      assert.deepEqual(codes, [0, 1], runs.map((run) => run.stderr).join(''));
      const loser = runs.find((run) => run.code === 1);
      const winner = runs.find((run) => run.code === 0);
      assert.match(
        loser?.stderr ?? '',
        /^switchyard: switchyard:route:default was changed by someone else \(now "http:\/\/127\.0\.0\.1:\d+\/[ab]"\); read it again and retry\n$/,
      );
      const stored = await redis.cli.get('switchyard:route:default');
      assert.ok(winner?.stdout.includes(`→ ${stored}`), winner?.stdout);
    } finally {
      barrier.closeAllConnections();
      barrier.close();
    }
  });
});
