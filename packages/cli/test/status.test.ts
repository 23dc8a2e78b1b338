import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCli } from '../../../test/support/cli';
import { waitFor } from '../../../test/support/wait';
import { main } from '../src/index';
import { runMain } from './helpers/in-process';
import { startTestbed, type Testbed } from './helpers/testbed';

interface FrontsOutput {
  version: number;
  digest: string;
  fronts: {
    id: string;
    pid: number;
    host: string;
    version: number;
    converged: boolean;
    uptimeMs: number;
    inFlight: number;
    held: number;
  }[];
}

describe('status, fronts and watch', () => {
  let bed: Testbed;

  before(async () => {
    bed = await startTestbed();
    assert.equal((await runMain(['route', 'set', 'http://10.0.0.1:3000', '--force'], { redis: bed.redis.url })).code, 0);
    assert.equal((await runMain(['maintenance', 'on', '--site', 'shop', '--read-only'], { redis: bed.redis.url })).code, 0);
  });

  after(() => bed.close());

  const run = (...args: string[]) => runMain(args, { redis: bed.redis.url });

  test('fronts: both front ends, converged, with their counters', async () => {
    const result = await run('fronts', '--json');
    assert.equal(result.code, 0);
    const output = result.json<FrontsOutput>();
    assert.deepEqual(output.fronts.map((front) => front.id).sort(), [bed.local.id, bed.remote.id].sort());
    for (const front of output.fronts) {
      assert.equal(front.converged, true);
      assert.equal(front.version, output.version);
      assert.equal(front.inFlight, 0);
      assert.ok(front.uptimeMs >= 0);
    }
    assert.equal(output.fronts.find((front) => front.id === bed.remote.id)?.pid, bed.remote.child.pid);
    const table = await run('fronts');
    assert.match(table.stdout, /^ID +HOST +PID +UPTIME +VERSION +STATE +IN-FLIGHT +WRITES +HELD +REFUSED\n/);
    assert.equal(table.stdout.match(/ converged /g)?.length, 2);
  });

  test('a bare redis-cli SET is seen as converged once applied (digest), a stale front end as behind', async () => {
    await bed.redis.cli.set('switchyard:route:default', 'http://10.0.0.2:3000');
    await waitFor(async () => (await run('fronts', '--json')).json<FrontsOutput>().fronts.every((front) => front.converged), {
      what: 'front ends to apply the bare SET',
    });
    await bed.store.putFront({ ...bed.local.report(), id: 'stale-front', version: 0, digest: 'nope' }, 10_000);
    try {
      const output = (await run('fronts', '--json')).json<FrontsOutput>();
      assert.equal(output.fronts.find((front) => front.id === 'stale-front')?.converged, false);
      const status = await run('status');
      assert.equal(status.code, 1, 'a split is a problem');
      assert.match(
        status.stdout,
        /\n⚠ FRONT ENDS DISAGREE: Redis holds version \d+ \(digest [0-9a-f]{12}\), applied by [^;]+; stale-front \(\S+, pid \d+\) applies version 0 \(digest nope\)\n/,
      );
      const json = (await run('status', '--json')).json<{ problems: { kind: string; message: string }[] }>();
      assert.deepEqual(
        json.problems.map((problem) => problem.kind),
        ['split'],
      );
      assert.match(status.stdout, /\nFRONT ENDS: 3 live, 1 not converged\n/);
      assert.match(status.stdout, /\nstale-front +\S+ +\d+ +\S+ \S+ +v0 +behind /);
    } finally {
      await bed.store.removeFront('stale-front');
    }
  });

  test('status: sites with route, maintenance and last change; front ends; JSON shape', async () => {
    const human = await run('status');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^redis:\/\/127\.0\.0\.1:\d+ · state version \d+ · digest [0-9a-f]{12}\n/);
    assert.match(human.stdout, /\nSITE +ROUTE +MAINTENANCE +LAST CHANGE\n/);
    assert.match(human.stdout, /\ndefault +http:\/\/10\.0\.0\.2:3000 +off +route set by \S+ /);
    assert.match(human.stdout, /\nshop +\(none\) +read-only +maintenance on by \S+ /);
    assert.match(human.stdout, /\nFRONT ENDS: 2 live, all converged\n/);
    assert.doesNotMatch(human.stdout, /UNFINISHED CUTOVER/);
    const json = (await run('status', '--json')).json<Record<string, unknown> & { sites: Record<string, unknown>[] }>();
    assert.deepEqual(Object.keys(json), ['store', 'version', 'digest', 'cutovers', 'unreadableCutovers', 'sites', 'fronts', 'problems']);
    assert.deepEqual(Object.keys(json.sites[0] ?? {}), ['site', 'route', 'maintenance', 'errors', 'lastChange']);
    assert.deepEqual(json.cutovers, []);
  });

  test('a malformed value or cutover journal in Redis is reported by status, not fatal', async () => {
    await bed.redis.cli.set('switchyard:route:broken', 'not a url');
    await bed.redis.cli.set('switchyard:cutover:broken', '{oops');
    try {
      const status = await run('status');
      assert.equal(status.code, 1, 'an invalid stored value is a problem');
      assert.match(
        status.stdout,
        /\n⚠ switchyard:route:broken holds an invalid value \(invalid route "not a url": [^)]+\); [^;]+; write a valid one with switchyard route set <url> --site broken\n/,
      );
      assert.match(status.stdout, /\n⚠ CUTOVER JOURNAL OF broken: the cutover journal switchyard:cutover:broken is unreadable; /);
    } finally {
      await bed.redis.cli.del('switchyard:route:broken', 'switchyard:cutover:broken');
    }
  });

  test('colour on a TTY only, never with NO_COLOR', async () => {
    const render = async (env: NodeJS.ProcessEnv) => {
      let stdout = '';
      const code = await main(['status'], {
        stdout: { write: (chunk: string) => (stdout += chunk), isTTY: true },
        stderr: { write: () => true },
        env,
      });
      assert.equal(code, 0);
      return stdout;
    };
    const ESC = '\u001b[';
    const { NO_COLOR: _ignored, ...withoutNoColor } = process.env;
    assert.ok((await render({ ...withoutNoColor, SWITCHYARD_REDIS_URL: bed.redis.url })).includes(`${ESC}32m`));
    assert.ok(!(await render({ ...withoutNoColor, SWITCHYARD_REDIS_URL: bed.redis.url, NO_COLOR: '1' })).includes(ESC));
    assert.ok(!(await run('status')).stdout.includes(ESC));
  });

  test('watch: prints changes and convergence as they happen, rides out a Redis outage, exits 0 on SIGINT', async () => {
    const watch = startCli(['watch', '--json', '--interval', '50ms'], { SWITCHYARD_REDIS_URL: bed.redis.url });
    await watch.waitForOutput(/"type":"snapshot"/);
    assert.equal((await run('route', 'set', 'http://10.0.0.3:3000', '--force')).code, 0);
    await watch.waitForOutput(/"type":"converged"/);
    await bed.redis.kill();
    await watch.waitForOutput(/"type":"redis-down"/);
    await bed.redis.restart();
    await watch.waitForOutput(/"type":"redis-up"/);
    watch.child.kill('SIGINT');
    const result = await watch.exited;
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; site?: string; from?: string; to?: string; fronts?: number });
    const routeIndex = events.findIndex((event) => event.type === 'route');
    const route = events[routeIndex];
    assert.deepEqual([route?.site, route?.from, route?.to], ['default', 'http://10.0.0.2:3000', 'http://10.0.0.3:3000']);
    const convergedIndex = events.findIndex((event) => event.type === 'converged');
    assert.equal(events[convergedIndex]?.fronts, 2);
    assert.ok(routeIndex < convergedIndex);
  });

  test('watch: a malformed value and front ends that keep disagreeing are shown loudly; it stops when its reader goes', async () => {
    const watch = startCli(['watch', '--json', '--interval', '50ms'], { SWITCHYARD_REDIS_URL: bed.redis.url });
    await watch.waitForOutput(/"type":"snapshot"/);
    await bed.redis.cli.set('switchyard:maintenance:watched', '{oops');
    await bed.store.putFront({ ...bed.local.report(), id: 'odd-front', version: 0, digest: 'odd' }, 10_000);
    try {
      await watch.waitForOutput(
        /"type":"invalid","key":"switchyard:maintenance:watched","error":"invalid maintenance state: it is not JSON"/,
      );
      await watch.waitForOutput(/"type":"split","groups":.*"fronts":\["odd-front"\]/);
    } finally {
      await bed.redis.cli.del('switchyard:maintenance:watched');
      await bed.store.removeFront('odd-front');
    }
    // `switchyard watch | head`: once the reader has gone, the next line ends it.
    watch.child.stdout?.destroy();
    const result = await watch.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr.includes('EPIPE'), false, result.stderr);
  });

  test('switchyard status | head -1: the reader closes the pipe early → quiet exit, nothing on stderr, no stack trace', async () => {
    const expected = (await run('status')).code;
    const cli = startCli(['status'], { SWITCHYARD_REDIS_URL: bed.redis.url });
    cli.child.stdout?.destroy();
    const exit = await cli.exited;
    assert.equal(exit.stderr, '');
    assert.ok(exit.code === 0 || exit.code === expected, `exit ${exit.code}`);
  });
});
