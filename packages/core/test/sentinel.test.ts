import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisSentinel } from '../../../test/support/redis-sentinel';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import { FrontEnd, silentLogger } from '../src/index';

test('through Sentinel: a front end follows a failover, re-issues tracking and sees the next flip', async () => {
  const master = await RedisServer.start();
  const replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(master.port)]);
  const sentinel = await RedisSentinel.start(master.port, 1);
  const front = new FrontEnd({
    store: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: sentinel.masterName },
    logger: silentLogger,
    resyncIntervalMs: 60_000,
  });
  try {
    await master.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
    await front.start();
    assert.equal(front.watcher.route('default')?.target, 'http://127.0.0.1:1111');

    const newMasterPort = await sentinel.failover();
    assert.equal(newMasterPort, replica.port);
    const newMaster = new Redis({ host: '127.0.0.1', port: newMasterPort, protocol: 2 });
    await waitFor(async () => ((await newMaster.call('ROLE')) as [string])[0] === 'master', {
      timeoutMs: 15_000,
      what: 'replica promoted',
    });
    // The front end reconnects to the new master; its resync on reconnect catches whatever came before.
    await waitFor(
      async () => {
        await newMaster.set('switchyard:route:default', `http://127.0.0.1:2222`);
        return front.watcher.route('default')?.target === 'http://127.0.0.1:2222';
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'flip on the new master seen' },
    );
    // The slow resync is a minute away: only tracking re-issued on the new master delivers this in time.
    await newMaster.set('switchyard:route:default', 'http://127.0.0.1:3333');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:3333', {
      timeoutMs: 3000,
      what: 'pushed flip on the new master',
    });
    newMaster.disconnect();
  } finally {
    await front.close();
    await sentinel.stop();
    await replica.stop();
    await master.stop();
  }
});
