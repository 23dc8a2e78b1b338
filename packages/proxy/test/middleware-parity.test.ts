// What http-proxy-middleware users rely on, on every framework: `on` hooks, `pathRewrite` (object
// and function), a `pathFilter` that falls through to `next()`, mounting under a prefix, and body
// parsers mounted before the proxy (parsed JSON and URL-encoded bodies re-sent; anything else refused
// at once with a clear error instead of hanging until the timeout).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, createLogger, type FrontEnd, setRoute } from '@switchyard/core';
import express from 'express';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import mount from 'koa-mount';
import { request } from '../../../test/support/http-client';
import { type Echo, startEchoUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { createProxyHandler, expressProxy, koaProxy, type ProxyOptions } from '../src/index';

type Kind = 'koa' | 'express' | 'http';
type Fallthrough = (req: IncomingMessage, res: ServerResponse) => void;

const logLines: string[] = [];
let frontEnd: FrontEnd;
let echo: Upstream;
let dead: string;
const servers: Server[] = [];

before(async () => {
  echo = await startEchoUpstream('app');
  const probe = await startEchoUpstream('dead');
  dead = probe.url;
  await probe.close();
  frontEnd = await createFrontEnd({ store: 'memory://middleware-parity', logger: createLogger('debug', (line) => logLines.push(line)) });
  await setRoute(frontEnd.store, 'default', echo.url);
  await setRoute(frontEnd.store, 'dead', dead);
  await waitFor(() => frontEnd.watcher.route('dead'), { what: 'routes applied' });
});

after(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await echo.close();
  await frontEnd.close();
});

const notProxied: Fallthrough = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('handled by the app');
};

/** A front of the given kind: optional body parser, the proxy, then an app handler for what the proxy passes on. */
async function front(kind: Kind, options: Omit<ProxyOptions, 'frontEnd'>, parser?: 'json' | 'urlencoded' | 'text'): Promise<string> {
  let server: Server;
  const proxyOptions = { frontEnd, ...options };
  if (kind === 'koa') {
    const app = new Koa();
    app.silent = true;
    if (parser) app.use(bodyParser({ enableTypes: [parser === 'urlencoded' ? 'form' : parser] }));
    app.use(koaProxy(proxyOptions));
    app.use((ctx) => {
      ctx.body = 'handled by the app';
    });
    server = createServer(app.callback());
  } else if (kind === 'express') {
    const app = express();
    if (parser === 'json') app.use(express.json());
    if (parser === 'urlencoded') app.use(express.urlencoded({ extended: true }));
    if (parser === 'text') app.use(express.text());
    app.use(expressProxy(proxyOptions));
    app.use(notProxied);
    server = createServer(app);
  } else {
    const proxy = createProxyHandler(proxyOptions);
    server = createServer((req, res) => proxy.handle(req, res));
  }
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function echoed(url: string, init: Parameters<typeof request>[1] = {}): Promise<Echo & { status: number }> {
  const response = await request(url, init);
  assert.equal(response.status, 200, response.body);
  return { ...(JSON.parse(response.body) as Echo), status: response.status };
}

for (const kind of ['koa', 'express', 'http'] as const) {
  describe(`${kind}: http-proxy-middleware parity`, () => {
    test('on.proxyReq changes the upstream request; on.proxyRes changes the response head', async () => {
      const url = await front(kind, {
        on: {
          proxyReq: (upstreamRequest, req) => {
            upstreamRequest.headers['x-added'] = `by-hook ${req.method}`;
            delete upstreamRequest.headers['x-secret'];
          },
          proxyRes: (upstreamResponse) => {
            upstreamResponse.headers['x-from-hook'] = String(upstreamResponse.statusCode);
            delete upstreamResponse.headers['x-upstream'];
          },
        },
      });
      const response = await request(`${url}/hooks`, { headers: { 'x-secret': 'token' } });
      assert.equal(response.status, 200);
      const body = JSON.parse(response.body) as Echo;
      assert.equal(body.headers['x-added'], 'by-hook GET');
      assert.equal(body.headers['x-secret'], undefined);
      assert.equal(response.headers['x-from-hook'], '200');
      assert.equal(response.headers['x-upstream'], undefined);
    });

    test('on.error sees the failure and may answer itself; otherwise the 502 page stays', async () => {
      const seen: string[] = [];
      const answering = await front(kind, {
        site: 'dead',
        on: {
          error: (error, _req, res) => {
            seen.push((error as NodeJS.ErrnoException).code ?? error.message);
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end('custom error page');
          },
        },
      });
      const custom = await request(`${answering}/x`);
      assert.equal(custom.status, 502);
      assert.equal(custom.body, 'custom error page');
      assert.deepEqual(seen, ['ECONNREFUSED']);
      const observing = await front(kind, { site: 'dead', on: { error: () => undefined } });
      const page = await request(`${observing}/x`, { headers: { accept: 'application/json' } });
      assert.equal(page.status, 502);
      assert.equal(JSON.parse(page.body).error, 'upstream_unavailable');
    });

    test('a hook or rewrite cannot put a second request on the upstream connection: CR/LF refused', async () => {
      const urls: string[] = [];
      const note = (req: IncomingMessage) => urls.push(req.url ?? '');
      echo.server.on('request', note);
      const hooked = await front(kind, {
        on: {
          proxyReq: (upstreamRequest, req) => {
            upstreamRequest.headers['x-from-hook'] = String(req.headers['x-value']).replace(
              '|',
              '\r\nX-Injected: 1\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a',
            );
          },
        },
      });
      const refused = await request(`${hooked}/hook`, { headers: { 'x-value': 'a|b' } });
      assert.equal(refused.status, 502);
      assert.ok(logLines.some((line) => line.includes('on.proxyReq made a request that cannot be sent')));
      const rewritten = await front(kind, { pathRewrite: () => '/x HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET /smuggled' });
      assert.equal((await echoed(`${rewritten}/kept`)).url, '/kept', 'an unsendable rewrite is ignored (and logged)');
      echo.server.off('request', note);
      assert.deepEqual(urls, ['/kept'], 'nothing smuggled reached the upstream');
    });

    test('pathRewrite as an object: the first matching rule, query kept', async () => {
      const url = await front(kind, { pathRewrite: { '^/api/v1': '/v2', '^/api': '' } });
      assert.equal((await echoed(`${url}/api/v1/users?id=7`)).url, '/v2/users?id=7');
      assert.equal((await echoed(`${url}/api/orders`)).url, '/orders');
      assert.equal((await echoed(`${url}/other`)).url, '/other');
    });

    test('pathRewrite as a function gets the path with its query and the request', async () => {
      const url = await front(kind, { pathRewrite: (path, req) => `/rewritten${path}${path.includes('?') ? '&' : '?'}m=${req.method}` });
      assert.equal((await echoed(`${url}/a/b?x=1`)).url, '/rewritten/a/b?x=1&m=GET');
    });

    test('pathFilter proxies its paths and passes the others on (404 from the plain handler)', async () => {
      const url = await front(kind, { pathFilter: ['/api', '/static/'] });
      assert.equal((await echoed(`${url}/api`)).url, '/api');
      assert.equal((await echoed(`${url}/api/items?q=1`)).url, '/api/items?q=1');
      assert.equal((await echoed(`${url}/static/app.js`)).url, '/static/app.js');
      const other = await request(`${url}/apix`);
      if (kind === 'http') assert.equal(other.status, 404);
      else assert.deepEqual([other.status, other.body], [200, 'handled by the app']);
    });

    test('pathFilter judges the canonical path: dot segments cannot walk a request into or out of it', async () => {
      const url = await front(kind, { pathFilter: (path) => path.startsWith('/api/') });
      assert.equal((await echoed(`${url}/other/../api/x`)).url, '/api/x');
      const escaped = await request(`${url}/api/../admin`);
      if (kind === 'http') assert.equal(escaped.status, 404);
      else assert.equal(escaped.body, 'handled by the app');
    });

    if (kind !== 'http') {
      test('a JSON body read by a body parser before the proxy is re-sent', async () => {
        const url = await front(kind, {}, 'json');
        const body = await echoed(`${url}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"item":"book","qty":2}',
        });
        assert.deepEqual(JSON.parse(body.body), { item: 'book', qty: 2 });
        assert.equal(body.headers['content-length'], String(Buffer.byteLength(body.body)));
      });

      test('a URL-encoded body read by a body parser before the proxy is re-sent', async () => {
        const url = await front(kind, {}, 'urlencoded');
        const body = await echoed(`${url}/form`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'name=Ada+Lovelace&lang=en',
        });
        assert.deepEqual(Object.fromEntries(new URLSearchParams(body.body)), { name: 'Ada Lovelace', lang: 'en' });
      });

      test('any other consumed body is answered at once with a clear error, and logged with the fix', async () => {
        const url = await front(kind, {}, 'text');
        const started = Date.now();
        const response = await request(`${url}/notes`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', accept: 'application/json' },
          body: 'a note',
          timeoutMs: 5000,
        });
        assert.equal(response.status, 500);
        assert.equal(JSON.parse(response.body).error, 'body_consumed');
        assert.ok(Date.now() - started < 5000);
        assert.ok(
          logLines.some((line) => line.includes('SWITCHYARD_ERR_BODY_CONSUMED') && line.includes('mount body parsers after the proxy')),
        );
      });
    }
  });
}

describe('koa: mounted under a prefix', () => {
  test('with koa-mount the upstream gets the path without the prefix (as Express does with app.use(prefix, proxy))', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(mount('/api', koaProxy({ frontEnd })));
    app.use((ctx) => {
      ctx.body = 'handled by the app';
    });
    const server = createServer(app.callback());
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal((await echoed(`${url}/api/users?id=1`)).url, '/users?id=1');
    assert.equal((await request(`${url}/home`)).body, 'handled by the app');
  });

  test('with pathFilter the prefix is kept and other paths go on to the next middleware', async () => {
    const url = await front('koa', { pathFilter: '/api' });
    assert.equal((await echoed(`${url}/api/users`)).url, '/api/users');
    assert.equal((await request(`${url}/home`)).body, 'handled by the app');
  });
});
