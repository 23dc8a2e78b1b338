// A front end that dies without a goodbye (SIGKILL: no graceful shutdown, its heartbeat not removed)
// drops out of `switchyard fronts` when its heartbeat expires, and never blocks a later change: the
// convergence wait counts only live front ends, and the survivor applies the change.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli';
import { type FrontProcess, startExampleFront } from './support/front-process';
import { RedisServer } from './support/redis-server';
import { startEchoUpstream, type Upstream } from './support/upstream';
import { waitFor } from './support/wait';

interface FrontsJson {
  fronts: { id: string; pid: number }[];
}

describe('a front end dies', () => {
  let redis: RedisServer;
  let blue: Upstream;
  let green: Upstream;
  let survivor: FrontProcess;
  let victim: FrontProcess;

  before(async () => {
    redis = await RedisServer.start();
    [blue, green] = await Promise.all([startEchoUpstream('blue'), startEchoUpstream('green')]);
    await redis.cli.set('switchyard:route:default', blue.url);
    [survivor, victim] = await Promise.all([
      startExampleFront('koa-front', { SWITCHYARD_REDIS_URL: redis.url }),
      startExampleFront('express-front', { SWITCHYARD_REDIS_URL: redis.url }),
    ]);
  });

  after(async () => {
    victim?.child.kill('SIGKILL');
    await survivor?.stop();
    await Promise.all([blue?.close(), green?.close()]);
    await redis?.stop();
  });

  async function fronts(): Promise<FrontsJson['fronts']> {
    const run = await runCli(['fronts', '--json'], { SWITCHYARD_REDIS_URL: redis.url });
    assert.equal(run.code, 0, run.stderr);
    return (JSON.parse(run.stdout) as FrontsJson).fronts;
  }

  test('its heartbeat expires and a later change converges on the survivor alone', async () => {
    await waitFor(async () => (await fronts()).length === 2, { timeoutMs: 20_000, what: 'both front ends in `fronts`' });
    const pid = victim.child.pid;
    victim.child.kill('SIGKILL');
    await once(victim.child, 'exit');
    // The dead front end's heartbeat outlives it by its TTL (5 s), then it is gone.
    const left = await waitFor(
      async () => {
        const list = await fronts();
        return list.every((front) => front.pid !== pid) ? list : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'the dead front end to leave `fronts`' },
    );
    assert.equal(left?.length, 1);
    const set = await runCli(['route', 'set', green.url, '--json'], { SWITCHYARD_REDIS_URL: redis.url });
    assert.equal(set.code, 0, set.stderr);
    const response = await fetch(`${survivor.url}/`);
    assert.equal(response.headers.get('x-upstream'), 'green');
  });
});
