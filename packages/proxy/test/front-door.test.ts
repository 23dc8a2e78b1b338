import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setMaintenance, setRoute, silentLogger } from '@switchyard/core';
import { startExampleFront } from '../../../test/support/front-process';
import { request } from '../../../test/support/http-client';
import { freePort } from '../../../test/support/ports';
import { RedisServer } from '../../../test/support/redis-server';
import { type Echo, startEchoUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { createFrontDoor } from '../src/index';

describe('createFrontDoor', () => {
  let upstream: Upstream;
  let frontEnd: FrontEnd;

  before(async () => {
    upstream = await startEchoUpstream('app');
    frontEnd = await createFrontEnd({ store: 'memory://', logger: silentLogger });
    await setRoute(frontEnd.store, 'default', upstream.url);
    await waitFor(() => frontEnd.watcher.route('default'), { what: 'the route' });
  });

  after(async () => {
    await frontEnd.close();
    await upstream.close();
  });

  test('on your own server: serverOptions carry the deadlines, attach adds WebSockets and the keep-alive timeout', async () => {
    const door = createFrontDoor({ frontEnd, timeouts: { headersTimeoutMs: 2000, requestTimeoutMs: 8000, keepAliveTimeoutMs: 1500 } });
    const options = door.serverOptions();
    assert.deepEqual(options, { headersTimeout: 2000, requestTimeout: 8000, connectionsCheckingInterval: 500 });
    const server = createServer(options, door.handle);
    door.attach(server);
    assert.equal(server.keepAliveTimeout, 1500);
    assert.equal(server.listenerCount('upgrade'), 1);
    assert.throws(() => door.attach(createServer()), /one server/);
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Duplicate ids are joined by Node into one value with a space: not a token, so replaced everywhere.
    const response = await request(`${url}/x`, { headers: { 'x-request-id': 'a, b' } });
    const echo = JSON.parse(response.body) as Echo;
    assert.equal(echo.headers['x-request-id'], response.headers['x-request-id']);
    assert.notEqual(echo.headers['x-request-id'], 'a, b');
    server.closeAllConnections();
    server.close();
  });

  test('every response carries the request id: the health endpoint, an on.error page, maintenance; a proxied one keeps the upstream id', async () => {
    const own = await createFrontEnd({ store: 'memory://', logger: silentLogger });
    const answering = createServer((_req, res) => res.writeHead(200, { 'X-Request-Id': 'from-upstream' }).end('ok'));
    answering.listen(0, '127.0.0.1');
    await new Promise((resolve) => answering.once('listening', resolve));
    // Its own site: the memory store is shared by the front ends of this file.
    const site = 'request-ids';
    const door = createFrontDoor({
      frontEnd: own,
      site,
      proxy: { on: { error: (_error, _req, res) => res.writeHead(599, { 'Content-Type': 'text/plain' }).end('hook page') } },
    });
    const server = await door.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const idOf = async (path: string, id: string, method = 'GET') => {
        const response = await request(`${url}${path}`, { method, headers: { 'x-request-id': id } });
        return { status: response.status, id: response.headers['x-request-id'], body: response.body };
      };
      assert.deepEqual(await idOf('/healthz', 'h-1').then(({ status, id }) => ({ status, id })), { status: 200, id: 'h-1' });
      await setRoute(own.store, site, `http://127.0.0.1:${await freePort()}`);
      await waitFor(() => own.watcher.route(site), { what: 'the dead route' });
      // The on.error hook answers the dead upstream here; its page carries the id too.
      assert.deepEqual(await idOf('/dead', 'e-1'), { status: 599, id: 'e-1', body: 'hook page' });
      await setRoute(own.store, site, `http://127.0.0.1:${(answering.address() as AddressInfo).port}`);
      await waitFor(() => own.watcher.route(site)?.target.includes(String((answering.address() as AddressInfo).port)), {
        what: 'the answering route',
      });
      assert.deepEqual(await idOf('/x', 'p-1').then(({ status, id }) => ({ status, id })), { status: 200, id: 'from-upstream' });
      await setMaintenance(own.store, site, { mode: 'on' });
      await waitFor(() => own.watcher.maintenance(site), { what: 'maintenance' });
      assert.deepEqual(await idOf('/x', 'm-1').then(({ status, id }) => ({ status, id })), { status: 503, id: 'm-1' });
    } finally {
      await door.close({ graceMs: 100 });
      answering.close();
    }
  });

  test('a 502 from the proxy itself carries the request id', async () => {
    const own = await createFrontEnd({ store: 'memory://', logger: silentLogger });
    await setRoute(own.store, 'dead-ids', `http://127.0.0.1:${await freePort()}`);
    await waitFor(() => own.watcher.route('dead-ids'), { what: 'the dead route' });
    const door = createFrontDoor({ frontEnd: own, site: 'dead-ids' });
    const server = await door.listen({ port: 0, host: '127.0.0.1' });
    try {
      const response = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, {
        headers: { 'x-request-id': 'd-1' },
      });
      assert.equal(response.status, 502);
      assert.equal(response.headers['x-request-id'], 'd-1');
    } finally {
      await door.close({ graceMs: 100 });
    }
  });

  test('maintenance: false mounts none; the health endpoint says stopping once close() began', async () => {
    const own = await createFrontEnd({ store: frontEnd.store, logger: silentLogger });
    await setMaintenance(own.store, 'default', { mode: 'on' });
    await waitFor(() => own.watcher.maintenance('default'), { what: 'maintenance' });
    try {
      const door = createFrontDoor({ frontEnd: own, maintenance: false, healthPath: '/up' });
      assert.equal(door.maintenance, undefined);
      const server = await door.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      assert.equal((await request(`${url}/page`, { method: 'POST', body: 'x' })).status, 200, 'no maintenance mounted');
      assert.equal(door.health().status, 'ready');
      const closing = door.close({ graceMs: 1000 });
      assert.equal(door.health().status, 'stopping');
      await closing;
      assert.equal(door.close(), closing, 'close() twice is the same shutdown');
    } finally {
      await setMaintenance(frontEnd.store, 'default', null);
    }
  });

  test('the access log goes to an injected logger (level info, message "request"), client as trustProxy decides', async () => {
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const logger = {
      debug: () => undefined,
      info: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'info', fields, message }),
      warn: () => undefined,
      error: () => undefined,
    };
    const own = await createFrontEnd({ store: frontEnd.store, logger: silentLogger });
    const door = createFrontDoor({ frontEnd: own, accessLog: logger, trustProxy: 1 });
    const server = await door.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await request(`${url}/logged?secret=1`, { headers: { 'x-forwarded-for': '198.51.100.9', authorization: 'Basic c2VjcmV0' } });
      await waitFor(() => lines.length === 1, { what: 'the access log line' });
      const [line] = lines;
      assert.equal(line?.message, 'request');
      assert.equal(line?.fields.path, '/logged');
      assert.equal(line?.fields.client, '198.51.100.9');
      assert.equal(line?.fields.target, upstream.url);
      assert.ok(!JSON.stringify(line).includes('c2VjcmV0'));
    } finally {
      await door.close({ graceMs: 100 });
    }
  });

  test('bad options are refused with what to pass', () => {
    assert.throws(() => createFrontDoor({ frontEnd, healthPath: 'healthz' }), /healthPath "healthz" must be a path/);
    assert.throws(
      () => createFrontDoor({ frontEnd, timeouts: { headersTimeoutMs: 1.5 } }),
      /timeouts\.headersTimeoutMs must be a whole number/,
    );
    assert.throws(() => createFrontDoor({} as never), /needs a running front end/);
  });
});

describe('examples/plain-front: createFrontDoor as a program', () => {
  test('proxies, answers its own health, serves metrics, and stops gracefully (exit 0)', async () => {
    const redis = await RedisServer.start();
    const upstream = await startEchoUpstream('app');
    try {
      await redis.cli.set('switchyard:route:default', upstream.url);
      const metricsPort = await freePort();
      const front = await startExampleFront('plain-front', {
        SWITCHYARD_REDIS_URL: redis.url,
        METRICS_PORT: String(metricsPort),
        ACCESS_LOG: '1',
      });
      try {
        const proxied = await request(`${front.url}/hello`, { headers: { 'x-request-id': 'example-1' } });
        assert.equal((JSON.parse(proxied.body) as Echo).url, '/hello');
        const health = await request(`${front.url}/healthz`);
        assert.equal(health.status, 200);
        assert.equal(JSON.parse(health.body).status, 'ready');
        const scrape = await request(`http://127.0.0.1:${metricsPort}/metrics`);
        assert.match(
          scrape.body,
          new RegExp(`switchyard_requests_total\\{site="default",target="${upstream.url.replace(/\./g, '\\.')}",status_class="2xx"\\} 1`),
        );
      } finally {
        assert.equal(await front.stop(), 0);
      }
    } finally {
      await upstream.close();
      await redis.stop();
    }
  });
});
