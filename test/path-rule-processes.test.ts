// Issue 8, point 1, against front ends run as operators run them: the Koa and Express example
// processes and `switchyard serve` (plain node:http), on one real redis-server, in front of an
// Express app that routes on the path it receives. The attacks of the issue must not reach /admin.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { canonicalizeTarget } from '@switchyard/core/internal';
import { type AppUpstream, handshakeStatus, startAppUpstream } from './support/app-upstream';
import { startCli } from './support/cli';
import { startExampleFront } from './support/front-process';
import { request } from './support/http-client';
import { RedisServer } from './support/redis-server';
import { waitFor } from './support/wait';

const MAINTENANCE_KEY = 'switchyard:maintenance:default';

interface RunningFront {
  readonly name: string;
  readonly url: string;
  stderr(): string;
  stop(): Promise<unknown>;
}

describe('the path rule in front-end processes (koa-front, express-front, switchyard serve)', () => {
  let redis: RedisServer;
  let app: AppUpstream;
  const fronts: RunningFront[] = [];

  before(async () => {
    redis = await RedisServer.start();
    app = await startAppUpstream();
    await redis.cli.set('switchyard:route:default', app.upstream.url);
    const env = { SWITCHYARD_REDIS_URL: redis.url };
    const examples = await Promise.all((['koa-front', 'express-front'] as const).map((name) => startExampleFront(name, env)));
    fronts.push(...examples.map((front, i) => ({ ...front, name: i === 0 ? 'koa-front' : 'express-front' })));
    const serve = startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--json'], env);
    fronts.push({ name: 'serve', stderr: serve.stderr, stop: () => serve.stop('SIGKILL'), url: '' });
    await serve.waitForOutput(/"type":"listening"/);
    const listening = JSON.parse(serve.stdout().split('\n')[0]!) as { url: string };
    fronts[2] = { ...fronts[2]!, url: listening.url };
  });

  after(async () => {
    await Promise.all(fronts.map((front) => front.stop()));
    await app?.upstream.close();
    await redis?.stop();
  });

  /** Writes the state to Redis (deletes it with `null`) and waits until every front end applies it. */
  async function maintenance(state: object | null): Promise<void> {
    if (state) await redis.cli.set(MAINTENANCE_KEY, JSON.stringify(state));
    else await redis.cli.del(MAINTENANCE_KEY);
    await waitFor(
      async () => {
        const replies = await Promise.all(fronts.map((front) => request(`${front.url}/probe`, { method: 'POST' })));
        return replies.every((reply) => (reply.status === 503) === (state !== null));
      },
      { timeoutMs: 15_000, what: `every front end to apply maintenance ${state ? 'on' : 'off'}` },
    );
  }

  test('full maintenance: dot segments and encodings neither pass as the health path nor reach /admin', async () => {
    await maintenance({ mode: 'on', retryAfter: 30 });
    for (const front of fronts) {
      const resolved = await request(`${front.url}/admin/../healthz`, { method: 'POST' });
      assert.equal(resolved.status, 200, `${front.name}: /admin/../healthz is the health path`);
      for (const path of ['/admin/%2e%2e/healthz', '/admin/.%2E/healthz', '/admin/%c0%ae%c0%ae/healthz', '/..']) {
        assert.equal((await request(`${front.url}${path}`, { method: 'POST' })).status, 400, `${front.name} ${path}`);
      }
      assert.equal(await handshakeStatus(front.url, '/ws/../healthz'), 503, `${front.name}: handshake through dot segments`);
      assert.equal(await handshakeStatus(front.url, '/ws/%2e%2e/healthz'), 400, front.name);
    }
    assert.deepEqual(app.admin, [], 'the admin area was never reached');
    assert.deepEqual(app.sockets, [], 'no handshake was upgraded');
  });

  test('--allow-path /public/ is not left through merged slashes, encoded slashes or backslashes', async () => {
    await maintenance({ mode: 'on', allowPaths: ['/public/'] });
    for (const front of fronts) {
      assert.equal((await request(`${front.url}/public/x`, { method: 'POST' })).status, 200, front.name);
      assert.equal((await request(`${front.url}/public//../admin/users`, { method: 'POST' })).status, 503, front.name);
      assert.equal((await request(`${front.url}/public/..%2fadmin/users`, { method: 'POST' })).status, 400, front.name);
      assert.equal((await request(`${front.url}/admin\\..\\public\\x`, { method: 'POST' })).status, 400, front.name);
    }
    assert.deepEqual(app.admin, []);
    await maintenance(null);
    for (const target of app.received) {
      const canonical = canonicalizeTarget(target);
      assert.ok(canonical.ok && canonical.url === target, `the upstream received ${target}, which is not canonical`);
    }
  });
});
