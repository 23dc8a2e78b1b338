import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import { createLogger, createStore, FrontEnd, setRoute, silentLogger } from '../src/index';

// The ACL the README documents for a front end's Redis user: if it is too narrow, this fails. No
// channel or SUBSCRIBE: invalidations arrive in-band on the watch connection (RESP3).
const FRONT_END_ACL = '~switchyard:* +@read +@write +@scripting +ping +info +client|tracking'.split(' ');

test('a front end works with the least-privileged ACL user the README documents', async () => {
  const redis = await RedisServer.start();
  const front = new FrontEnd({ store: `redis://front:s3cret-pw@127.0.0.1:${redis.port}`, logger: silentLogger, resyncIntervalMs: 60_000 });
  const operator = createStore(redis.url, { logger: silentLogger });
  try {
    await redis.cli.call('ACL', 'SETUSER', 'front', 'on', '>s3cret-pw', ...FRONT_END_ACL);
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
    await front.start();
    assert.equal(front.watcher.route('default')?.target, 'http://127.0.0.1:1111');
    assert.equal(front.store.pushesChanges, true, 'CLIENT TRACKING was allowed');
    await setRoute(operator, 'default', 'http://127.0.0.1:2222');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:2222', { what: 'pushed change' });
    await waitFor(async () => (await operator.listFronts()).some((report) => report.id === front.id), { what: 'heartbeat written' });
    assert.ok(!front.store.description.includes('s3cret-pw'), 'the password is redacted');
  } finally {
    await front.close();
    await operator.close();
    await redis.stop();
  }
});

test('where CLIENT TRACKING is refused, the front end says so once and polls instead', async () => {
  const redis = await RedisServer.start();
  const lines: string[] = [];
  const logger = createLogger('warn', (line) => lines.push(line));
  const withoutTracking = FRONT_END_ACL.filter((rule) => rule !== '+client|tracking');
  const front = new FrontEnd({
    store: `redis://front:s3cret-pw@127.0.0.1:${redis.port}`,
    logger,
    resyncIntervalMs: 60_000,
    pollIntervalMs: 100,
  });
  try {
    await redis.cli.call('ACL', 'SETUSER', 'front', 'on', '>s3cret-pw', ...withoutTracking);
    await front.start();
    assert.equal(front.store.pushesChanges, false);
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:3333');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:3333', { what: 'change seen by polling' });
    await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:4444');
    await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:4444', { what: 'second change seen by polling' });
    assert.equal(lines.filter((line) => JSON.parse(line).event === 'tracking-refused').length, 1, 'said once');
  } finally {
    await front.close();
    await redis.stop();
  }
});
