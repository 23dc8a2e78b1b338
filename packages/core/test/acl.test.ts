import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
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

test('where Redis refuses HELLO 3 (a proxy that speaks RESP2 only), the front end says so once and polls instead', async (t) => {
  const redis = await RedisServer.start();
  t.after(() => redis.stop());
  // Between the front end and Redis, a proxy that garbles HELLO 3, as one that knows RESP2 alone answers it.
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(redis.port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (data: Buffer) =>
      upstream.write(data.toString('latin1').replace('$5\r\nHELLO\r\n$1\r\n3', '$5\r\nHELLX\r\n$1\r\n3'), 'latin1'),
    );
    upstream.pipe(client);
    const both = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('error', both).on('close', both);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    proxy.close();
  });
  const lines: string[] = [];
  const front = new FrontEnd({
    store: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    logger: createLogger('warn', (line) => lines.push(line)),
    resyncIntervalMs: 60_000,
    pollIntervalMs: 100,
  });
  t.after(() => front.close());
  await front.start();
  assert.equal(front.store.pushesChanges, false);
  await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:5555');
  await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:5555', { what: 'change seen by polling' });
  const refused = lines.filter((line) => JSON.parse(line).event === 'tracking-refused');
  assert.equal(refused.length, 1, 'said once');
  assert.match(JSON.parse(refused[0] ?? '{}').err, /HELLO 3/);
});
