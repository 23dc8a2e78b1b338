// Step one of adoption: an existing koa-proxies or http-proxy-middleware set-up keeps its proxy and
// takes its target from Switchyard (one changed line), with Switchyard's maintenance in front of it.
// In process with the memory:// store and supertest, the way docs/testing.md shows for your own app.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, expressServerOptions, type FrontEnd, setMaintenance, setRoute } from '@switchyard/core';
import { expressMaintenance, koaMaintenance } from '@switchyard/maintenance';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import Koa from 'koa';
import koaProxies from 'koa-proxies';
import request from 'supertest';
import { startEchoUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { switchyardKoaProxiesOptions, switchyardRouter } from '../src/index';

type App = Parameters<typeof request>[0];

function expressWithHpm(frontEnd: FrontEnd): express.Express {
  const app = express();
  app.set('env', 'test'); // Express's final handler would print every 502's stack
  app.use(expressMaintenance({ frontEnd }));
  // Before: createProxyMiddleware({ target: 'http://10.0.0.1:3000', pathFilter: '/api' })
  app.use(createProxyMiddleware({ target: 'http://127.0.0.1:9', pathFilter: '/api', router: switchyardRouter({ frontEnd }) }));
  app.use((_req, res) => {
    res.send('not proxied');
  });
  return app;
}

const builds: Record<string, (frontEnd: FrontEnd) => App> = {
  'koa + koa-proxies': (frontEnd) => {
    const app = new Koa();
    app.silent = true;
    app.use(koaMaintenance({ frontEnd }));
    // Before: proxy('/api', { target: 'http://10.0.0.1:3000', changeOrigin: true })
    app.use(koaProxies('/api', switchyardKoaProxiesOptions({ frontEnd }, { changeOrigin: true })));
    app.use((ctx) => {
      ctx.body = 'not proxied';
    });
    return app.callback();
  },
  'express + http-proxy-middleware': expressWithHpm,
  // As docs/adopting.md recommends: req and res built with Express's prototypes.
  'express + http-proxy-middleware, server built with expressServerOptions': (frontEnd) => {
    const app = expressWithHpm(frontEnd);
    return createServer(expressServerOptions(app), app);
  },
};

for (const [name, build] of Object.entries(builds)) {
  describe(`adopting Switchyard in ${name}`, () => {
    let frontEnd: FrontEnd;
    let app: App;
    let blue: Upstream;
    let green: Upstream;
    const storeName = `memory://adopt-${name.replace(/\W+/g, '-')}`;

    before(async () => {
      [blue, green] = await Promise.all([startEchoUpstream('blue'), startEchoUpstream('green')]);
      frontEnd = await createFrontEnd({ store: storeName, heartbeatIntervalMs: 60_000 });
      app = build(frontEnd);
    });
    after(async () => {
      await frontEnd.close();
      await Promise.all([blue.close(), green.close()]);
    });

    test('with no route the proxied path gets a 502, never 503', async () => {
      const response = await request(app).get('/api/items');
      assert.equal(response.status, 502);
    });

    test('the proxy follows a flip without a restart', async () => {
      await setRoute(frontEnd.store, 'default', blue.url);
      await waitFor(() => frontEnd.watcher.route('default')?.target === blue.url, { what: 'blue applied' });
      const first = await request(app).get('/api/items?x=1');
      assert.equal(first.status, 200);
      assert.equal(first.body.name, 'blue');
      assert.equal(first.body.url, '/api/items?x=1');

      await setRoute(frontEnd.store, 'default', green.url);
      await waitFor(() => frontEnd.watcher.route('default')?.target === green.url, { what: 'green applied' });
      const second = await request(app).post('/api/items').send({ a: 1 });
      assert.equal(second.status, 200);
      assert.equal(second.body.name, 'green');
      assert.equal(second.body.method, 'POST');
      assert.equal(second.body.body, '{"a":1}');
    });

    test("paths outside the proxy's filter fall through to the app", async () => {
      const response = await request(app).get('/elsewhere');
      assert.equal(response.status, 200);
      assert.equal(response.text, 'not proxied');
    });

    test('maintenance in front of the existing proxy refuses writes and lets reads through', async () => {
      await setRoute(frontEnd.store, 'default', blue.url);
      await setMaintenance(frontEnd.store, 'default', { mode: 'read-only' });
      await waitFor(() => frontEnd.watcher.maintenance('default')?.mode === 'read-only', { what: 'maintenance applied' });
      const write = await request(app).post('/api/items').set('accept', 'application/json').send({ a: 1 });
      assert.equal(write.status, 503);
      assert.equal(write.body.error, 'maintenance');
      const read = await request(app).get('/api/items');
      assert.equal(read.status, 200);
      assert.equal(read.body.name, 'blue');
      await setMaintenance(frontEnd.store, 'default', null);
      await waitFor(() => frontEnd.watcher.maintenance('default') === undefined, { what: 'maintenance off' });
      const after = await request(app).post('/api/items').send({ a: 2 });
      assert.equal(after.status, 200);
    });
  });
}
