// Issue 8, point 1: the path maintenance judges is byte for byte the path the upstream receives.
// Real parts: a redis-server holding the maintenance state, front ends (Koa, Express, plain http)
// with the maintenance middleware in front of the proxy and its upgrade guard, and an Express
// upstream that routes on the path it receives, with an /admin area that must stay unreachable.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, type MaintenanceState, silentLogger } from '@switchyard/core';
import { canonicalizeTarget } from '@switchyard/core/internal';
import { createMaintenanceHandler, expressMaintenance, koaMaintenance } from '@switchyard/maintenance';
import { createProxyHandler, expressProxy, koaProxy } from '@switchyard/proxy';
import express from 'express';
import Koa from 'koa';
import { connect, exchange } from '../packages/proxy/test/helpers/websocket';
import { type AppUpstream, handshakeStatus, startAppUpstream } from './support/app-upstream';
import { request } from './support/http-client';
import { RedisServer } from './support/redis-server';
import { waitFor } from './support/wait';

const KINDS = ['koa', 'express', 'http'] as const;
type Kind = (typeof KINDS)[number];

interface GuardedFront {
  readonly kind: Kind;
  readonly url: string;
  close(): Promise<void>;
}

/** A front end as operators wire it: maintenance first, then the proxy; WebSockets behind the maintenance guard. */
async function startGuardedFront(kind: Kind, frontEnd: FrontEnd): Promise<GuardedFront> {
  const maintenance = createMaintenanceHandler({ frontEnd });
  const proxyOptions = { frontEnd, upgradeGuard: maintenance.guardUpgrade };
  let server: Server;
  let closeProxy: () => void;
  if (kind === 'koa') {
    const app = new Koa();
    const proxy = koaProxy(proxyOptions);
    app.use(koaMaintenance(maintenance)).use(proxy);
    server = createServer(app.callback());
    proxy.attach(server);
    closeProxy = proxy.close;
  } else if (kind === 'express') {
    const app = express();
    const proxy = expressProxy(proxyOptions);
    app.use(expressMaintenance(maintenance), proxy);
    server = createServer(app);
    proxy.attach(server);
    closeProxy = proxy.close;
  } else {
    const proxy = createProxyHandler(proxyOptions);
    server = createServer((req, res) => maintenance.handle(req, res, () => proxy.handle(req, res)));
    proxy.attach(server);
    closeProxy = proxy.close;
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    kind,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      maintenance.close();
      server.closeAllConnections();
      server.close();
      closeProxy();
      await once(server, 'close');
    },
  };
}

describe('the path rule: what maintenance judges is what the upstream receives', () => {
  let redis: RedisServer;
  let app: AppUpstream;
  let frontEnd: FrontEnd;
  const fronts: GuardedFront[] = [];

  async function setMaintenance(state: MaintenanceState | undefined): Promise<void> {
    if (state) await redis.cli.set('switchyard:maintenance:default', JSON.stringify(state));
    else await redis.cli.del('switchyard:maintenance:default');
    await waitFor(() => JSON.stringify(frontEnd.watcher.maintenance('default')) === JSON.stringify(state), {
      what: 'the maintenance state applied',
    });
  }

  before(async () => {
    redis = await RedisServer.start();
    app = await startAppUpstream();
    await redis.cli.set('switchyard:route:default', app.upstream.url);
    frontEnd = await createFrontEnd({ store: redis.url, logger: silentLogger });
    await waitFor(() => frontEnd.watcher.route('default'), { what: 'the route' });
    for (const kind of KINDS) fronts.push(await startGuardedFront(kind, frontEnd));
  });

  after(async () => {
    for (const front of fronts) await front.close();
    await frontEnd?.close();
    await app?.upstream.close();
    await redis?.stop();
  });

  test('full maintenance: dot segments never lead a write into /admin; the health path gets its canonical form', async () => {
    await setMaintenance({ mode: 'on' });
    for (const front of fronts) {
      const resolved = await request(`${front.url}/admin/../healthz`, { method: 'POST' });
      assert.deepEqual([resolved.status, resolved.body], [200, 'healthy'], front.kind);
      assert.equal(app.received.at(-1), '/healthz', `${front.kind}: the upstream gets the path that was judged`);
      const receivedBefore = app.received.length;
      for (const path of ['/admin/%2e%2e/healthz', '/admin/%2E%2E/healthz', '/admin/.%2e/healthz', '/..', '/admin/..;/healthz']) {
        const reply = await request(`${front.url}${path}`, { method: 'POST', headers: { accept: 'application/json' } });
        assert.equal(reply.status, 400, `${front.kind} ${path}`);
        assert.equal(reply.headers['cache-control'], 'no-store', `${front.kind} ${path}`);
        assert.equal((JSON.parse(reply.body) as { error: string }).error, 'bad_request', `${front.kind} ${path}`);
      }
      assert.equal((await request(`${front.url}/admin/users`, { method: 'POST' })).status, 503, front.kind);
      assert.equal(app.received.length, receivedBefore, `${front.kind}: refused requests never reach the upstream`);
    }
    assert.deepEqual(app.admin, []);
  });

  test('an allow-listed prefix cannot be left through merged slashes, encoded slashes or backslashes', async () => {
    await setMaintenance({ mode: 'on', allowPaths: ['/public/'] });
    for (const front of fronts) {
      const allowed = await request(`${front.url}/public/prices?x=/../admin`, { method: 'POST' });
      assert.deepEqual([allowed.status, allowed.body], [200, 'public /public/prices?x=/../admin'], front.kind);
      const receivedBefore = app.received.length;
      const expected: [string, number][] = [
        ['/public//../admin/users', 503],
        ['/public/./../admin/users', 503],
        ['/public/..%2fadmin/users', 400],
        ['/public/..%2Fadmin/users', 400],
        ['/public/..%5cadmin/users', 400],
        ['/admin\\..\\public\\x', 400],
        ['/public/%252e%252e/admin', 200],
      ];
      for (const [path, status] of expected) {
        const reply = await request(`${front.url}${path}`, { method: 'POST' });
        assert.equal(reply.status, status, `${front.kind} ${path}`);
      }
      // Only the double encoding got through, and as itself: a prefix match, still inside /public/.
      assert.deepEqual(app.received.slice(receivedBefore), ['/public/%252e%252e/admin'], front.kind);
    }
    assert.deepEqual(app.admin, []);
  });

  test('with maintenance off the upstream receives only canonical targets, the query untouched', async () => {
    await setMaintenance(undefined);
    for (const front of fronts) {
      const receivedBefore = app.received.length;
      const reply = await request(`${front.url}//public/a/./b/../c?q=/../x&y=%2e`, { method: 'POST' });
      assert.equal(reply.status, 200, front.kind);
      assert.deepEqual(app.received.slice(receivedBefore), ['/public/a/c?q=/../x&y=%2e'], front.kind);
      assert.equal((await request(`${front.url}/public/..%2fadmin`)).status, 400, `${front.kind}: the proxy applies the rule too`);
      assert.equal(app.received.length, receivedBefore + 1, front.kind);
    }
    for (const target of app.received) assert.equal((canonicalizeTarget(target) as { url?: string }).url, target);
  });

  test('a WebSocket handshake through dot segments is refused during full maintenance, not upgraded', async () => {
    await setMaintenance({ mode: 'on', retryAfter: 30 });
    for (const front of fronts) {
      const socketsBefore = app.sockets.length;
      assert.equal(await handshakeStatus(front.url, '/ws/../healthz'), 503, front.kind);
      assert.equal(await handshakeStatus(front.url, '/healthz'), 503, `${front.kind}: health checks are not WebSockets`);
      assert.equal(await handshakeStatus(front.url, '/ws/%2e%2e/healthz'), 400, front.kind);
      assert.equal(await handshakeStatus(front.url, '/ws/..%2fhealthz'), 400, front.kind);
      assert.equal(app.sockets.length, socketsBefore, `${front.kind}: no handshake reached the upstream`);
    }
    await setMaintenance(undefined);
    for (const front of fronts) {
      assert.equal(await handshakeStatus(front.url, '/ws/./chat/../room'), 101, front.kind);
      await waitFor(() => app.sockets.at(-1) === '/ws/room', { what: `${front.kind}: the canonical handshake path upstream` });
      const socket = await connect(`${front.url.replace('http:', 'ws:')}/ws/room`);
      assert.equal(await exchange(socket, 'hi'), 'app:hi', front.kind);
      assert.equal(app.sockets.at(-1), '/ws/room', `${front.kind}: the upstream gets the canonical handshake path`);
      socket.close();
    }
  });
});
