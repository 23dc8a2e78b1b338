// Express swaps the prototype of every `req` and `res`; after that, without help, each request's
// objects get hidden classes of their own and every property access on them (Express's, Node's,
// Switchyard's) misses V8's caches: about a quarter of the Express front's instructions (bench/README.md,
// "Express: one hidden class per request"). Each Express adapter settles them first
// (settleSwappedPrototype, core/src/request-mark.ts); here each adapter is mounted alone, so each
// one's part is pinned: two requests' responses must end up sharing one hidden class.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setRoute } from '@switchyard/core';
import { expressMaintenance } from '@switchyard/maintenance';
import express from 'express';
import { request } from '../../../test/support/http-client';
import { startEchoUpstream, startUpstream, type Upstream } from '../../../test/support/upstream';
import { hasFastProperties, haveSameMap } from '../../../test/support/v8-intrinsics';
import { waitFor } from '../../../test/support/wait';
import { expressProxy } from '../src/index';

let frontEnd: FrontEnd;
let echo: Upstream;
const fronts: Upstream[] = [];

before(async () => {
  echo = await startEchoUpstream('app');
  frontEnd = await createFrontEnd({ store: 'memory://express-hidden-class' });
  await setRoute(frontEnd.store, 'default', echo.url);
  await waitFor(() => frontEnd.watcher.route('default'), { what: 'route applied' });
});

after(async () => {
  await Promise.all(fronts.map((front) => front.close()));
  await echo.close();
  await frontEnd.close();
});

/** An Express front that keeps every `res`, then runs `mount` on the app; two requests through it. */
async function twoResponses(mount: (app: express.Express) => void): Promise<ServerResponse[]> {
  const kept: ServerResponse[] = [];
  const app = express();
  app.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
    kept.push(res);
    next();
  });
  mount(app);
  const front = await startUpstream(app);
  fronts.push(front);
  for (let i = 0; i < 2; i++) assert.equal((await request(`${front.url}/page`)).status, 200);
  return kept;
}

describe('Express adapters give each request the same hidden class', () => {
  test('expressProxy settles them before it forwards', async () => {
    // Seen from its hook: what the proxy's own work meets, before Node writes the response.
    const fastWhenForwarded: boolean[] = [];
    const proxy = expressProxy({
      frontEnd,
      on: {
        proxyReq: (_upstreamRequest, req, res) => {
          fastWhenForwarded.push(hasFastProperties(req), hasFastProperties(res));
        },
      },
    });
    const [first, second] = await twoResponses((app) => app.use(proxy));
    assert.deepEqual(fastWhenForwarded, [false, false, false, false]);
    assert.equal(haveSameMap(first!, second!), true);
  });

  test('expressMaintenance (maintenance off, the app answers)', async () => {
    const [first, second] = await twoResponses((app) => {
      app.use(expressMaintenance({ frontEnd }));
      app.use((_req: IncomingMessage, res: ServerResponse) => {
        res.end('from the app');
      });
    });
    assert.equal(haveSameMap(first!, second!), true);
  });

  test('without either, they do not (what the adapters mend)', async () => {
    const [first, second] = await twoResponses((app) =>
      app.use((_req: IncomingMessage, res: ServerResponse) => {
        res.end('from the app');
      }),
    );
    assert.equal(haveSameMap(first!, second!), false);
  });
});
