import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FrontProcess, startExampleFront } from '../../../test/support/front-process';
import { request } from '../../../test/support/http-client';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor, waitForEvent } from '../../../test/support/wait';
import { connect, type EchoSocketServer, exchange, refusal, startEchoSocketServer } from './helpers/websocket';

const MAINTENANCE_KEY = 'switchyard:maintenance:default';

// The example front ends, run as operators run them, wire the maintenance guard into the proxy's
// WebSockets; one SET in Redis must reach the handshakes of both.
describe('example front ends refuse new WebSockets during maintenance', () => {
  let redis: RedisServer;
  let upstream: EchoSocketServer;
  let fronts: FrontProcess[];

  before(async () => {
    redis = await RedisServer.start();
    upstream = await startEchoSocketServer('app');
    await redis.cli.set('switchyard:route:default', upstream.upstream.url);
    fronts = await Promise.all(
      (['koa-front', 'express-front'] as const).map((name) => startExampleFront(name, { SWITCHYARD_REDIS_URL: redis.url })),
    );
  });

  after(async () => {
    await Promise.all(fronts.map((front) => front.stop()));
    await upstream.close();
    await redis.stop();
  });

  /** Waits until every front end answers a write with `status`, i.e. has applied the state just written. */
  async function applied(status: number): Promise<void> {
    await waitFor(
      async () => {
        const replies = await Promise.all(fronts.map((front) => request(`${front.url}/probe`, { method: 'POST' })));
        return replies.every((reply) => reply.status === status);
      },
      { timeoutMs: 10_000, what: `every front end to answer writes with ${status}` },
    );
  }

  test('read-only maintenance refuses handshakes except from an allowed IP; open sockets and maintenance off work', async () => {
    const open = await Promise.all(fronts.map((front) => connect(`${front.url.replace('http:', 'ws:')}/chat`)));

    await redis.cli.set(MAINTENANCE_KEY, JSON.stringify({ mode: 'read-only', retryAfter: 30, allowIps: ['127.0.0.2'] }));
    await applied(503);
    for (const front of fronts) {
      const wsUrl = front.url.replace('http:', 'ws:');
      const upgradesBefore = upstream.upgrades.length;
      assert.match(await refusal(`${wsUrl}/chat`), /Unexpected server response: 503/, front.url);
      assert.equal(upstream.upgrades.length, upgradesBefore, 'a refused handshake never reaches the upstream');
      const allowed = await connect(`${wsUrl}/chat`, { localAddress: '127.0.0.2' });
      assert.equal(await exchange(allowed, 'admin'), 'app:admin');
      allowed.close();
    }
    for (const socket of open) assert.equal(await exchange(socket, 'still open'), 'app:still open');

    await redis.cli.del(MAINTENANCE_KEY);
    await applied(200);
    for (const front of fronts) {
      const socket = await connect(`${front.url.replace('http:', 'ws:')}/chat`);
      assert.equal(await exchange(socket, 'back'), 'app:back');
      socket.close();
    }
    for (const socket of open) {
      const closed = waitForEvent(socket, 'close');
      socket.close();
      await closed;
    }
  });

  test('the front ends printed nothing and stop cleanly', async () => {
    for (const front of fronts) {
      assert.equal(front.stderr(), '', front.url);
      assert.equal(await front.stop(), 0);
    }
  });
});
