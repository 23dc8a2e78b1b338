import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FrontEnd, silentLogger } from '@switchyard/core';
import { request } from '../../../test/support/http-client';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor, waitForEvent } from '../../../test/support/wait';
import { FRAMEWORKS, startApp, type TestApp } from './harness';

describe('malformed maintenance state in Redis', () => {
  let redis: RedisServer;
  let front: FrontEnd;
  const apps: TestApp[] = [];

  before(async () => {
    redis = await RedisServer.start();
    front = await new FrontEnd({ store: redis.url, logger: silentLogger }).start();
    for (const framework of FRAMEWORKS) apps.push(await startApp(framework, { frontEnd: front }));
  });

  after(async () => {
    for (const app of apps) await app.close();
    await front.close();
    await redis.stop();
  });

  async function expectPage(pattern: RegExp): Promise<void> {
    for (const app of apps) {
      const reply = await request(`${app.origin}/`);
      assert.equal(reply.status, 503);
      assert.match(reply.body, pattern);
    }
  }

  test('garbage after a valid state is ignored: the last good state keeps being served', async () => {
    const key = 'switchyard:maintenance:default';
    await redis.cli.set(key, JSON.stringify({ mode: 'on', message: 'first good state' }));
    await waitFor(() => front.watcher.maintenance('default')?.message === 'first good state', { what: 'valid state applied' });
    await expectPage(/first good state/);

    const garbage = [
      '{not json',
      '{"mode":"sideways"}',
      '[1,2,3]',
      '{"mode":"on","hold":-5}',
      '{"mode":"on","allowIps":["not-an-ip"]}',
      'null',
    ];
    for (const value of garbage) {
      const invalid = waitForEvent<[string]>(front.watcher, 'invalid');
      await redis.cli.set(key, value);
      const [reported] = await invalid;
      assert.equal(reported, key);
      await expectPage(/first good state/);
    }

    await redis.cli.set(key, JSON.stringify({ mode: 'on', message: 'second good state' }));
    await waitFor(() => front.watcher.maintenance('default')?.message === 'second good state', { what: 'recovery' });
    await expectPage(/second good state/);

    await redis.cli.del(key);
    await waitFor(() => front.watcher.maintenance('default') === undefined, { what: 'maintenance off' });
    for (const app of apps) assert.equal((await request(`${app.origin}/`)).status, 200);
  });
});
