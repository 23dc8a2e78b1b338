import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setMaintenance, setRoute, silentLogger } from '@switchyard/core';
import { expressMaintenance, koaMaintenance } from '@switchyard/maintenance';
import { expressProxy, koaProxy } from '@switchyard/proxy';
import express from 'express';
import Koa from 'koa';
import { request } from '../../../test/support/http-client';
import { startEchoUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { createMetrics, type SwitchyardMetrics } from '../src/index';

// What the middleware notes about a request (site, target, maintenance outcome) is kept where it is
// cheapest for the object (core/src/request-mark.ts): on Node's own request (Koa), in a WeakMap for
// Express's, whose prototype it swaps. Either way the metrics must carry it, wired as docs/operations.md shows.
for (const kind of ['express', 'koa'] as const) {
  describe(`@switchyard/metrics in a ${kind} app`, () => {
    let frontEnd: FrontEnd;
    let metrics: SwitchyardMetrics;
    let upstream: Upstream;
    let server: Server;
    let url: string;

    before(async () => {
      upstream = await startEchoUpstream('app');
      frontEnd = await createFrontEnd({ store: `memory://metrics-${kind}`, logger: silentLogger });
      await setRoute(frontEnd.store, 'default', upstream.url);
      await waitFor(() => frontEnd.watcher.route('default'), { what: 'the route applied' });
      metrics = createMetrics({ frontEnd });
      if (kind === 'express') {
        const app = express();
        app.disable('x-powered-by');
        app.use((req, res, next) => {
          metrics.observe(req, res);
          next();
        });
        app.use(expressMaintenance({ frontEnd }));
        app.use(expressProxy({ frontEnd }));
        server = createServer(app);
      } else {
        const app = new Koa();
        app.use((ctx, next) => {
          metrics.observe(ctx.req, ctx.res);
          return next();
        });
        app.use(koaMaintenance({ frontEnd }));
        app.use(koaProxy({ frontEnd }));
        server = createServer(app.callback());
      }
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
      server?.closeAllConnections();
      server?.close();
      metrics?.close();
      await frontEnd?.close();
      await upstream?.close();
    });

    test('proxied requests are counted by site and target, refused ones by maintenance outcome', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await request(`${url}/page/${i}`)).status, 200);
      await setMaintenance(frontEnd.store, 'default', { mode: 'on' });
      await waitFor(() => frontEnd.watcher.maintenance('default'), { what: 'maintenance applied' });
      assert.equal((await request(`${url}/page`)).status, 503);
      await setMaintenance(frontEnd.store, 'default', null);
      await waitFor(() => frontEnd.watcher.maintenance('default') === undefined, { what: 'maintenance lifted' });
      // The observer counts on 'close', which can follow the client's read of the response.
      const proxied = new RegExp(`switchyard_requests_total\\{site="default",target="${upstream.url}",status_class="2xx"\\} 3\\n`);
      const refused = /switchyard_maintenance_requests_total\{site="default",outcome="refused"\} 1\n/;
      const text = await waitFor(
        async () => {
          const scraped = await metrics.registry.metrics();
          return proxied.test(scraped) && refused.test(scraped) ? scraped : '';
        },
        { what: 'the three proxied requests and the refused one counted with their labels' },
      );
      assert.match(text, /switchyard_requests_total\{site="default",target="",status_class="5xx"\} 1\n/, 'the 503 has no target');
    });
  });
}
