import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setRoute, silentLogger } from '@switchyard/core';
import { request } from '../../../test/support/http-client';
import { RedisServer } from '../../../test/support/redis-server';
import { startEchoUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { FRONT_KINDS, type Front, startFront } from './helpers/front';

describe('target flips over real Redis', () => {
  let redis: RedisServer;
  let frontEnd: FrontEnd;
  let a: Upstream;
  let b: Upstream;
  const fronts: Front[] = [];

  before(async () => {
    redis = await RedisServer.start();
    [a, b] = await Promise.all([startEchoUpstream('A'), startEchoUpstream('B')]);
    frontEnd = await createFrontEnd({ store: redis.url, logger: silentLogger });
    for (const kind of FRONT_KINDS) fronts.push(await startFront(kind, { frontEnd }));
  });

  after(async () => {
    for (const front of fronts) await front.close();
    await frontEnd.close();
    await Promise.all([a.close(), b.close(), redis.stop()]);
  });

  async function upstreamsSeen(): Promise<string[]> {
    return Promise.all(fronts.map(async (front) => String((await request(`${front.url}/`)).headers['x-upstream'])));
  }

  test('a write through core moves the next requests of every front door, without a restart', async () => {
    await setRoute(frontEnd.store, 'default', a.url);
    await waitFor(() => frontEnd.watcher.route('default')?.target === a.url, { what: 'route to A' });
    assert.deepEqual(
      await upstreamsSeen(),
      fronts.map(() => 'A'),
    );
    await setRoute(frontEnd.store, 'default', b.url);
    await waitFor(async () => (await upstreamsSeen()).every((name) => name === 'B'), { what: 'every front door on B', timeoutMs: 5000 });
  });

  test('a bare redis-cli SET moves traffic just the same', async () => {
    await redis.cli.set('switchyard:route:default', a.url);
    await waitFor(() => frontEnd.watcher.route('default')?.target === a.url, { what: 'the pushed flip', timeoutMs: 5000 });
    assert.deepEqual(
      await upstreamsSeen(),
      fronts.map(() => 'A'),
      'the first request after the watcher applied the flip goes to A',
    );
  });

  test('deleting the route gives a 502, setting it again serves again', async () => {
    await redis.cli.del('switchyard:route:default');
    await waitFor(() => frontEnd.watcher.route('default') === undefined, { what: 'route gone' });
    for (const front of fronts) assert.equal((await request(`${front.url}/`)).status, 502);
    await redis.cli.set('switchyard:route:default', b.url);
    await waitFor(async () => (await upstreamsSeen()).every((name) => name === 'B'), { what: 'serving again' });
  });
});
