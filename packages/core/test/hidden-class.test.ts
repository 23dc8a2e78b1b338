// settleSwappedPrototype (src/request-mark.ts): Express swaps the prototype of every `req` and `res`,
// after which V8 keeps no transitions from their hidden class, so each request's objects end up with
// hidden classes of their own and every property access on them misses V8's caches. The helper moves
// such objects to dictionary properties, whose hidden class V8 shares between requests. Hidden classes
// are compared with V8's own `%HaveSameMap` (test/support/v8-intrinsics.ts). expressServerOptions
// (same file) goes further: on a server built with it the objects have Express's prototypes from the
// start, Express's swap does nothing, and they keep fast properties and one hidden class.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, IncomingMessage, type RequestListener, type Server, type ServerOptions, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { hasFastProperties, neighboursShareMap, warmHttpConstructors } from '../../../test/support/v8-intrinsics';
import { expressServerOptions, isSwitchyardError } from '../src/index';
import { constructorsFor, settleSwappedPrototype } from '../src/internal';

const servers: Server[] = [];
before(warmHttpConstructors);
after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

const HELD = 4;

/**
 * Requests held at once by `handle` (so their objects are compared at the same point), after
 * `handle` has run on each and added a property as Express and Node do; answers them and resolves
 * with their `req`/`res` pairs.
 */
async function heldRequests(
  listener: (handle: (req: IncomingMessage, res: ServerResponse) => void) => RequestListener,
  serverOptions: (built: RequestListener) => ServerOptions = () => ({}),
): Promise<Array<{ req: IncomingMessage; res: ServerResponse }>> {
  const held: Array<{ req: IncomingMessage; res: ServerResponse }> = [];
  let allHeld!: () => void;
  const ready = new Promise<void>((resolve) => {
    allHeld = resolve;
  });
  const built = listener((req, res) => {
    (res as unknown as { later: number }).later = held.length; // as Node adds fields while it writes
    held.push({ req, res });
    if (held.length === HELD) allHeld();
  });
  const server = createServer(serverOptions(built), built);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const responses = Array.from({ length: HELD }, () => fetch(url, { signal: AbortSignal.timeout(10_000) }));
  // A request answered (or failed) before all were held would leave `ready` pending for ever.
  const early = responses.map(async (response) => {
    throw new Error(`answered before all ${HELD} requests were held: ${(await response).status}`);
  });
  await Promise.race([ready, ...early]);
  for (const settled of early) settled.catch(() => undefined);
  const pairs = [...held];
  for (const { res } of pairs) res.end('ok');
  await Promise.all(responses.map(async (response) => (await response).text()));
  return pairs;
}

/** An Express app whose one middleware optionally settles, then hands the request on. */
function expressWith(settle: boolean) {
  return (handle: (req: IncomingMessage, res: ServerResponse) => void): express.Express => {
    const app = express();
    app.use((req: IncomingMessage, res: ServerResponse) => {
      if (settle) {
        settleSwappedPrototype(req);
        settleSwappedPrototype(res);
      }
      handle(req, res);
    });
    return app;
  };
}

describe('settleSwappedPrototype', () => {
  test('without it, two requests through Express end up with hidden classes of their own (why it exists)', async () => {
    const held = await heldRequests(expressWith(false));
    assert.equal(neighboursShareMap(held.map(({ res }) => res)), false);
  });

  test("after it, Express's responses and requests share one hidden class", async () => {
    // V8 keeps the classes of dictionary objects in a small cache indexed by their prototype's
    // random identity hash. When the hashes of an app's two prototypes (Express's `app.request` and
    // `app.response`) land on one slot, req and res evict each other and nothing is shared: 6 apps in
    // 400 here. A new app draws new prototypes; one of three sharing is what settling promises.
    const draws: Array<[res: boolean, req: boolean]> = [];
    while (draws.length < 3 && !draws.some(([res, req]) => res && req)) {
      const held = await heldRequests(expressWith(true));
      draws.push([neighboursShareMap(held.map(({ res }) => res)), neighboursShareMap(held.map(({ req }) => req))]);
    }
    assert.deepEqual(draws.at(-1), [true, true], `three apps, none sharing: ${JSON.stringify(draws)}`);
  });

  test('it changes nothing a program can see: keys, their order, values, prototype', async () => {
    type Seen = { keys: unknown[]; prototype: unknown };
    const seen: Array<{ before: Seen; after: Seen }> = [];
    const look = (response: ServerResponse): Seen => ({
      keys: Reflect.ownKeys(response).map((key) => [key, (response as unknown as Record<PropertyKey, unknown>)[key]]),
      prototype: Object.getPrototypeOf(response),
    });
    const [first] = await heldRequests((handle) => {
      const app = express();
      app.use((req: IncomingMessage, res: ServerResponse) => {
        const before = look(res);
        settleSwappedPrototype(res);
        seen.push({ before, after: look(res) });
        handle(req, res);
      });
      return app;
    });
    assert.equal(seen.length, HELD);
    for (const { before, after } of seen) assert.deepEqual(after, before);
    assert.equal(hasFastProperties(first!.res), false);
  });

  test("Node's own objects and instances of a ServerResponse subclass keep their fast hidden class", async () => {
    const [plain] = await heldRequests((handle) => (req, res) => {
      settleSwappedPrototype(req);
      settleSwappedPrototype(res);
      handle(req, res);
    });
    assert.equal(hasFastProperties(plain!.req), true);
    assert.equal(hasFastProperties(plain!.res), true);

    class OwnResponse extends ServerResponse {}
    const own = new OwnResponse(Object.create(null) as IncomingMessage);
    settleSwappedPrototype(own);
    assert.equal(hasFastProperties(own), true);
  });
});

describe('expressServerOptions', () => {
  const builtFor = (app: RequestListener) => expressServerOptions(app as express.Express);

  test('req and res have fast properties and share one hidden class, and settling leaves them so', async () => {
    // expressWith(true) settles: objects built with Express's prototypes must be left alone.
    const held = await heldRequests(expressWith(true), builtFor);
    for (const { req, res } of held) assert.deepEqual([hasFastProperties(req), hasFastProperties(res)], [true, true]);
    assert.equal(neighboursShareMap(held.map(({ res }) => res)), true);
    assert.equal(neighboursShareMap(held.map(({ req }) => req)), true);
  });

  test("they have Express's prototypes before Express sees them, so its swap sets what is already set", async () => {
    const app = express();
    const seen: boolean[] = [];
    // The app only lends its prototypes here: a plain listener looks at the objects Node built.
    await heldRequests(
      (handle) => (req, res) => {
        seen.push(Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response);
        handle(req, res);
      },
      () => expressServerOptions(app),
    );
    assert.deepEqual(seen, Array(HELD * 2).fill(true));
  });

  test('Express works as on app.listen: its methods, a mounted sub-app, instanceof and constructor', async () => {
    const app = express();
    const sub = express();
    sub.get('/who', (req, res) => {
      res.json({ app: req.app === sub, path: req.path, query: req.query });
    });
    app.use('/sub', sub);
    app.get('/back', (req, res) => {
      res.set('X-Kind', String(req instanceof IncomingMessage && res instanceof ServerResponse));
      res.json({ app: req.app === app, constructors: [req.constructor === IncomingMessage, res.constructor === ServerResponse] });
    });
    const server = createServer(expressServerOptions(app), app);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const who = await fetch(`${url}/sub/who?x=1`, { signal: AbortSignal.timeout(10_000) });
    assert.deepEqual(await who.json(), { app: true, path: '/who', query: { x: '1' } });
    const back = await fetch(`${url}/back`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(back.headers.get('x-kind'), 'true');
    assert.deepEqual(await back.json(), { app: true, constructors: [true, true] });
  });

  test('an object that is not an Express app is refused with SWITCHYARD_ERR_INVALID_OPTION', () => {
    for (const app of [
      { request: {}, response: {} },
      { request: Object.create(IncomingMessage.prototype) as object, response: {} },
    ]) {
      assert.throws(
        () => expressServerOptions(app),
        (error: unknown) => isSwitchyardError(error, 'SWITCHYARD_ERR_INVALID_OPTION') && /pass an Express application/.test(error.message),
      );
    }
  });

  test("were Node's classes ES classes, it hands them back unchanged (Express then swaps, and settling applies)", () => {
    class Request extends IncomingMessage {}
    class Response extends ServerResponse {}
    const app = { request: Object.create(Request.prototype) as object, response: Object.create(Response.prototype) as object };
    assert.deepEqual(constructorsFor(app, Request, Response), { IncomingMessage: Request, ServerResponse: Response });
  });
});
