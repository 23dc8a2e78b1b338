// Express swaps the prototype of every `req` and `res`; after that, without help, each request's
// objects get hidden classes of their own and every property access on them (Express's, Node's,
// Switchyard's) misses V8's caches: a third of the Express front's instructions (bench/README.md,
// "Express: one hidden class per request"). Each Express adapter settles them first
// (settleSwappedPrototype, core/src/request-mark.ts); here each adapter is mounted alone, so each
// one's part is pinned.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setRoute } from '@switchyard/core';
import { expressMaintenance } from '@switchyard/maintenance';
import express from 'express';
import { request } from '../../../test/support/http-client';
import { startEchoUpstream, startUpstream, type Upstream } from '../../../test/support/upstream';
import { hasFastProperties } from '../../../test/support/v8-intrinsics';
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

/** Whether `req` and `res` had fast properties where a handler saw them. */
type Seen = [req: boolean, res: boolean];

/** An Express front built by `mount`; three requests through it. */
async function throughFront(mount: (app: express.Express) => void): Promise<void> {
  const app = express();
  mount(app);
  const front = await startUpstream(app);
  fronts.push(front);
  for (let i = 0; i < 3; i++) assert.equal((await request(`${front.url}/page`)).status, 200);
}

/** The app's own handler after the middleware under test: notes what it sees, then answers. */
function appNoting(seen: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    seen.push([hasFastProperties(req), hasFastProperties(res)]);
    res.end('from the app');
  };
}

// Settled objects have dictionary properties, whose hidden class V8 shares between requests
// (packages/core/test/hidden-class.test.ts); Express's own keep fast properties, each request with
// classes of its own. Which of the two the adapters leave is what is checked here: it does not
// depend on timing or on when the garbage collector runs.
describe('Express adapters settle the objects Express swapped', () => {
  test('expressProxy, before it forwards', async () => {
    const seen: Seen[] = [];
    // Seen from its hook: what the proxy's own work meets, before Node writes the response.
    const proxyReq = (_upstreamRequest: unknown, req: IncomingMessage, res: ServerResponse) => {
      seen.push([hasFastProperties(req), hasFastProperties(res)]);
    };
    await throughFront((app) => app.use(expressProxy({ frontEnd, on: { proxyReq } })));
    assert.deepEqual(seen, Array(3).fill([false, false]));
  });

  test('expressMaintenance, before the app (maintenance off)', async () => {
    const seen: Seen[] = [];
    await throughFront((app) => {
      app.use(expressMaintenance({ frontEnd }));
      app.use(appNoting(seen));
    });
    assert.deepEqual(seen, Array(3).fill([false, false]));
  });

  test('without either, Express leaves them fast, each request with classes of its own (what the adapters mend)', async () => {
    const seen: Seen[] = [];
    await throughFront((app) => app.use(appNoting(seen)));
    assert.deepEqual(seen, Array(3).fill([true, true]));
  });
});
