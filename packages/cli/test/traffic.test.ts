import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCli } from '../../../test/support/cli';
import { request } from '../../../test/support/http-client';
import { RedisServer } from '../../../test/support/redis-server';
import type { TypeScriptProcess } from '../../../test/support/typescript-process';
import { waitFor } from '../../../test/support/wait';
import { main } from '../src/index';
import { type AppServer, startAppServer } from './helpers/app-server';
import { runMain } from './helpers/in-process';

type TrafficEvent = { type: 'traffic'; rates: Record<string, number> };

describe('requests per second per target, from the front ends’ heartbeats', () => {
  let redis: RedisServer;
  let oldApp: AppServer;
  let newApp: AppServer;
  let serve: TypeScriptProcess;
  let url: string;
  let running = true;
  let load: Promise<void>;

  before(async () => {
    redis = await RedisServer.start();
    [oldApp, newApp] = await Promise.all([startAppServer('old'), startAppServer('new')]);
    await redis.cli.set('switchyard:route:shop', oldApp.url);
    serve = startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--site', 'shop', '--json'], { SWITCHYARD_REDIS_URL: redis.url });
    await serve.waitForOutput(/"type":"listening"/, 30_000);
    url = (JSON.parse(serve.stdout().split('\n')[0] as string) as { url: string }).url;
    load = (async () => {
      while (running) await request(`${url}/page`);
    })();
  });

  after(async () => {
    running = false;
    await load;
    await serve?.stop('SIGKILL');
    await Promise.all([oldApp?.close(), newApp?.close()]);
    await redis?.stop();
  });

  test('watch shows traffic leaving the old target for the new one', async () => {
    const watch = startCli(['watch', '--json', '--interval', '100ms'], { SWITCHYARD_REDIS_URL: redis.url });
    try {
      const traffic = () =>
        watch
          .stdout()
          .split('\n')
          .filter((line) => line.includes('"type":"traffic"'))
          .map((line) => JSON.parse(line) as TrafficEvent);
      await waitFor(() => traffic().some((event) => (event.rates[oldApp.url] ?? 0) > 0), {
        what: 'traffic to the old target',
        timeoutMs: 15_000,
      });
      const set = await runMain(['route', 'set', newApp.url, '--site', 'shop'], { redis: redis.url });
      assert.equal(set.code, 0, set.stderr);
      const moved = await waitFor(() => traffic().find((event) => (event.rates[newApp.url] ?? 0) > 0 && event.rates[oldApp.url] === 0), {
        what: 'traffic on the new target only',
        timeoutMs: 15_000,
      });
      assert.ok(moved);
    } finally {
      await watch.stop('SIGINT');
    }
  });

  test('cutover on a terminal shows the traffic beside its spinner', async () => {
    assert.equal((await runMain(['route', 'set', oldApp.url, '--site', 'shop'], { redis: redis.url })).code, 0);
    let screen = '';
    const code = await main(['cutover', '--site', 'shop', '--to', newApp.url, '--sync', 'sleep 2', '--yes'], {
      stdout: { write: (chunk: string) => (screen += chunk), isTTY: true },
      stderr: { write: () => true },
      env: { ...process.env, SWITCHYARD_REDIS_URL: redis.url, NO_COLOR: undefined },
    });
    assert.equal(code, 0, screen);
    const escaped = oldApp.url.replace(/[.]/g, '\\.');
    assert.match(screen, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, 'a spinner was drawn');
    assert.match(screen, new RegExp(`sync \\S*[0-9.]+s\\S*  \\S*${escaped} \\d+(\\.\\d)? req/s`), 'the spinner line carries the rate');
  });
});
