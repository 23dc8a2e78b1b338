import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../../test/support/cli';
import { freePort } from '../../../test/support/ports';
import { startUpstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { runMain } from './helpers/in-process';
import { startTestbed, type Testbed } from './helpers/testbed';

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
  let bed: Testbed;

  before(async () => {
    bed = await startTestbed();
  });

  after(() => bed.close());

  test('route set: health-checked, compare-and-set, waits until both front ends apply it', async () => {
    const before = bed.newApp.requests;
    const run = await runMain(['route', 'set', `${bed.newApp.url}/`, '--health-path', '/healthz', '--json'], { redis: bed.redis.url });
    assert.equal(run.code, 0, run.stderr);
    const output = run.json<RouteSetOutput>();
    assert.equal(output.site, 'default');
    assert.equal(output.route, bed.newApp.url, 'normalised, trailing slash dropped');
    assert.equal(output.previous, bed.oldApp.url);
    assert.equal(output.changed, true);
    assert.equal(output.health?.status, 200);
    assert.equal(output.health?.url, `${bed.newApp.url}/healthz`);
    assert.equal(bed.newApp.requests, before + 1, 'the health check reached the new server');
    assert.equal(output.convergence.waited, true);
    assert.equal(output.convergence.fronts, 2);
    // Converged means applied: no waiting needed after the command returns.
    assert.equal(bed.local.watcher.route('default')?.target, bed.newApp.url);
    const heartbeats = await bed.store.listFronts();
    assert.ok(heartbeats.find((front) => front.id === bed.remote.id && front.version >= output.version));
    const [entry] = await bed.store.history(1);
    assert.equal(entry?.action, 'route set');
    assert.equal(entry?.old, bed.oldApp.url);
    assert.equal(entry?.new, bed.newApp.url);
  });

  test('route set to the same target changes nothing and says so', async () => {
    const run = await runMain(['route', 'set', bed.newApp.url], { redis: bed.redis.url });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /is already http:\/\/127\.0\.0\.1:\d+; nothing written/);
    assert.match(run.stdout, /2 front ends apply version \d+ after \d+ ms/);
  });

  test('a failing health check refuses the change: exit 1, one line, route untouched', async () => {
    bed.oldApp.status = 503;
    try {
      const run = await runMain(['route', 'set', bed.oldApp.url], { redis: bed.redis.url });
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^switchyard: health check GET http:\/\/127\.0\.0\.1:\d+\/ answered 503; expected 2xx or 3xx; route not changed \(fix the new server, or pass --force to skip the check\)\n$/,
      );
      assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.newApp.url);
    } finally {
      bed.oldApp.status = 200;
    }
  });

  test('an unreachable target fails the health check; --force skips it', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const refused = await runMain(['route', 'set', deadUrl, '--site', 'blog'], { redis: bed.redis.url });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /failed: ECONNREFUSED/);
    const forced = await runMain(['route', 'set', deadUrl, '--site', 'blog', '--force', '--json'], { redis: bed.redis.url });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.json<RouteSetOutput>().health, null);
    assert.equal(await bed.redis.cli.get('switchyard:route:blog'), deadUrl);
  });

  test('route get and route list', async () => {
    const get = await runMain(['route', 'get'], { redis: bed.redis.url });
    assert.equal(get.code, 0);
    assert.equal(get.stdout, `${bed.newApp.url}\n`);
    const none = await runMain(['route', 'get', '--site', 'nowhere', '--json'], { redis: bed.redis.url });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /site "nowhere" has no route; set one with switchyard route set <url> --site nowhere/);
    const list = await runMain(['route', 'list', '--json'], { redis: bed.redis.url });
    const sites = list.json<{ sites: { site: string; route: string; maintenance: string | null }[] }>().sites;
    assert.deepEqual(
      sites.map((site) => site.site),
      ['blog', 'default'],
    );
    assert.equal(sites.find((site) => site.site === 'default')?.route, bed.newApp.url);
    const table = await runMain(['route', 'list'], { redis: bed.redis.url });
    assert.match(table.stdout, /^SITE +ROUTE +MAINTENANCE\n/);
  });

  test('a front end that does not apply the change: exit 1 naming it after --timeout; --no-wait does not wait', async () => {
    const stuck = { ...bed.local.report(), id: 'stuck-front', host: 'old-box', pid: 4242, version: 0 };
    await bed.store.putFront(stuck, 10_000);
    try {
      const run = await runMain(['route', 'set', bed.oldApp.url, '--timeout', '300ms'], { redis: bed.redis.url });
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^switchyard: front ends did not converge on version \d+ within 300 ms: Redis holds version \d+ \(digest \w+\), applied by [^;]+; stuck-front \(old-box, pid 4242\) applies version 0 \(digest \w+\); check them \(switchyard fronts\), or raise --timeout\n$/,
      );
      assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url, 'the write itself happened');
      const noWait = await runMain(['route', 'set', bed.newApp.url, '--no-wait', '--json'], { redis: bed.redis.url });
      assert.equal(noWait.code, 0, noWait.stderr);
      assert.deepEqual(noWait.json<RouteSetOutput>().convergence, { waited: false, fronts: 0, ms: 0 });
    } finally {
      await bed.store.removeFront('stuck-front');
    }
  });

  test('two concurrent route set from two processes: one wins, the other reports the conflict', async () => {
    // Both health checks are held until both arrived, so both processes read the route before either writes.
    const pending: ServerResponse[] = [];
    const barrier = await startUpstream((_req, res) => {
      pending.push(res);
      if (pending.length === 2) for (const held of pending) held.end('ok');
    });
    const base = barrier.url;
    try {
      const env = { SWITCHYARD_REDIS_URL: bed.redis.url };
      const runs = await Promise.all([runCli(['route', 'set', `${base}/a`], env), runCli(['route', 'set', `${base}/b`], env)]);
      const codes = runs.map((run) => run.code).sort();
      assert.deepEqual(codes, [0, 1], runs.map((run) => run.stderr).join(''));
      const loser = runs.find((run) => run.code === 1);
      const winner = runs.find((run) => run.code === 0);
      assert.match(
        loser?.stderr ?? '',
        /^switchyard: switchyard:route:default was changed by someone else \(now "http:\/\/127\.0\.0\.1:\d+\/[ab]"\); read it again and retry\n$/,
      );
      const stored = await bed.redis.cli.get('switchyard:route:default');
      assert.ok(winner?.stdout.includes(`→ ${stored}`), winner?.stdout);
    } finally {
      await barrier.close();
    }
  });

  test('route delete: compare-and-set, recorded, applied by both front ends; nothing to delete is not an error', async () => {
    const env = { redis: bed.redis.url };
    assert.equal((await runMain(['route', 'set', bed.oldApp.url, '--site', 'gone', '--force'], env)).code, 0);
    const run = await runMain(['route', 'delete', '--site', 'gone', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const output = run.json<{ previous: string; changed: boolean; version: number; convergence: { fronts: number } }>();
    assert.equal(output.previous, bed.oldApp.url);
    assert.equal(output.changed, true);
    assert.equal(output.convergence.fronts, 2);
    assert.equal(await bed.redis.cli.exists('switchyard:route:gone'), 0);
    assert.equal(bed.local.watcher.route('gone'), undefined, 'applied before the command returned');
    const [entry] = await bed.store.history(1);
    assert.equal(entry?.action, 'route delete');
    assert.equal(entry?.old, bed.oldApp.url);
    assert.equal(entry?.new, null);
    const again = await runMain(['route', 'delete', '--site', 'gone'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^gone has no route; nothing written/);
    assert.equal((await bed.store.history(1))[0]?.id, entry?.id, 'nothing recorded');
  });

  test('a malformed stored value the front ends ignore fails the wait at once, naming the key and the fix', async () => {
    const env = { redis: bed.redis.url };
    assert.equal((await runMain(['route', 'set', bed.oldApp.url, '--site', 'brk', '--force'], env)).code, 0);
    await bed.redis.cli.set('switchyard:route:brk', 'ftp://nope');
    await waitFor(
      async () => (await bed.store.listFronts()).filter((front) => front.invalidKeys.includes('switchyard:route:brk')).length === 2,
      { what: 'both front ends to report the invalid value' },
    );
    try {
      const started = performance.now();
      const run = await runMain(['route', 'set', bed.newApp.url, '--site', 'other', '--force', '--timeout', '20s'], env);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^switchyard: front ends cannot converge: switchyard:route:brk holds an invalid value \(invalid route "ftp:\/\/nope": [^)]+\); \S+, \S+ ignore it and keep their last good value; write a valid one with switchyard route set <url> --site brk\n$/,
      );
      assert.ok(performance.now() - started < 10_000, 'at once, not after --timeout');
      assert.equal(bed.local.watcher.route('brk')?.target, bed.oldApp.url, 'the last good value stays in force');
    } finally {
      await bed.redis.cli.del('switchyard:route:brk', 'switchyard:route:other');
    }
  });
});
