// Express swaps the prototype of every `req` and `res`; after that, without help, each request's
// objects get hidden classes of their own and every property access on them (Express's, Node's,
// Switchyard's) misses V8's caches: a third of the Express front's instructions (bench/README.md,
// "Express: one hidden class per request"). Each Express adapter settles them first
// (settleSwappedPrototype, core/src/request-mark.ts); here each adapter is mounted alone, so each
// one's part is pinned. On a server built with expressServerOptions (core/src/request-mark.ts) there
// is no swap to mend: the objects have Express's prototypes from the start and stay fast.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, expressServerOptions, type FrontEnd, setRoute } from '@switchyard/core';
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

/** An Express front built by `mount`, on the server `app.listen` makes or one built with expressServerOptions; three requests through it. */
async function throughFront(mount: (app: express.Express) => void, built = false): Promise<void> {
  const app = express();
  mount(app);
  const front = await startUpstream(app, '127.0.0.1', built ? expressServerOptions(app) : {});
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

describe('on a server built with expressServerOptions', () => {
  test('both adapters leave req and res fast, and keep their marks on them', async () => {
    const seen: Seen[] = [];
    const marks: string[][] = [];
    await throughFront((app) => {
      app.use(expressMaintenance({ frontEnd }));
      app.use(
        expressProxy({
          frontEnd,
          on: {
            proxyReq: (_upstreamRequest, req, res) => {
              seen.push([hasFastProperties(req), hasFastProperties(res)]);
              marks.push(Object.getOwnPropertySymbols(req).map(String));
            },
          },
        }),
      );
    }, true);
    assert.deepEqual(seen, Array(3).fill([true, true]));
    // Marks go where they are cheap: on objects whose hidden class is shared, as on node:http's.
    for (const found of marks) assert.ok(found.includes('Symbol(switchyard.canonical)'), found.join());
  });
});
