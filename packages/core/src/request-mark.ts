import { IncomingMessage, type ServerOptions, ServerResponse } from 'node:http';
import { SwitchyardError } from './errors';

/**
 * Prototypes that objects are built with from the start, by the constructors of
 * expressServerOptions: their objects have a hidden class V8 shares between requests, as Node's own do.
 */
const builtWith = new WeakSet<object>();

/**
 * Where a value kept per request (or per response) for as long as that object lives goes: the path
 * rule's verdict (request-path.ts), what was noted for metrics and logs (request-info.ts), the
 * headers every response carries (http-response.ts). True: on the object, as a symbol-keyed
 * property; false: in a WeakMap. Each way is cheap on one kind of object and costly on the other
 * (bench/README.md, "Per-request marks"):
 * - Node's own IncomingMessage and ServerResponse (`switchyard serve`, node:http, Koa): a WeakMap
 *   entry per short-lived request costs the garbage collector ephemeron work; properties made
 *   `serve` about 5% faster.
 * - Objects built with Express's prototypes (expressServerOptions) are as fast as Node's: properties.
 * - Objects whose prototype was swapped (Express does it to `req` and `res` on every request): an
 *   added property finds no shared hidden class and allocates a new one, about 1.3 KB per property
 *   per request; the Express front lost 4–6% to it.
 *
 * A mark already on the object stays there (`own`, the property's current value): a request marked by
 * a plain handler before an Express app swapped its prototype keeps what was noted before the swap.
 *
 * Each caller keeps its own symbol and WeakMap and reads them in its own code: one accessor shared by
 * the three marks made `serve` 4–5% slower (its property accesses saw three keys and went megamorphic).
 */
export function marksOnObject(target: IncomingMessage | ServerResponse, own: unknown): boolean {
  if (own !== undefined) return true;
  const prototype = Object.getPrototypeOf(target) as object;
  return prototype === IncomingMessage.prototype || prototype === ServerResponse.prototype || builtWith.has(prototype);
}

const SETTLING = Symbol('switchyard.settling');

/**
 * Gives a `req` or `res` whose prototype was swapped after it was built (Express 5 swaps both on
 * every request) a hidden class V8 shares between requests again. After `Object.setPrototypeOf`,
 * V8 records no transitions from the object's new hidden class: every property added afterwards
 * (Express adds several, Node's HTTP code more as the response is written) makes a class of its own,
 * so every property access in Express's, Node's and Switchyard's code meets a class its inline
 * cache has never seen and takes V8's runtime lookup. Adding a private symbol and deleting it again
 * moves the object to dictionary properties (V8 recorded no transition to roll the delete back
 * along), and V8 shares a dictionary object's hidden class between objects of the same prototype:
 * each access is then a hash probe the caches answer. The Express front went from 601 k to 404 k
 * instructions per request (bench/README.md, "Express: one hidden class per request"); the tests in
 * packages/core/test/hidden-class.test.ts fail if V8 ever rolls such a delete back instead.
 * V8 finds those classes in a small cache indexed by the prototype's random identity hash: in about
 * one app in a hundred (6 in 400 here) Express's two prototypes share a slot, req and res evict each
 * other, and requests cost what they did unsettled.
 * Nothing else is visible: no enumerable key changes and key order is kept. Objects that still have
 * their constructor's prototype (node:http, Koa, a custom ServerResponse class) keep their fast,
 * shared class and are left alone.
 */
export function settleSwappedPrototype(target: IncomingMessage | ServerResponse): void {
  // Node's own objects and instances of a subclass still have their constructor's prototype; objects
  // built by expressServerOptions' constructors have Express's from the start (V8 would roll the add
  // and delete below back on either, as their classes record transitions, but need not be asked).
  const prototype = Object.getPrototypeOf(target) as object;
  if (prototype === (target.constructor as { prototype?: unknown } | undefined)?.prototype || builtWith.has(prototype)) return;
  const settling = target as unknown as Record<symbol, unknown>;
  settling[SETTLING] = true;
  delete settling[SETTLING];
}

/** What expressServerOptions needs of an Express application: the prototypes Express gives `req` and `res`. */
export interface ExpressPrototypes {
  /** Express's `app.request`: inherits from IncomingMessage.prototype. */
  readonly request: object;
  /** Express's `app.response`: inherits from ServerResponse.prototype. */
  readonly response: object;
}

/** The two options of `http.createServer` (and `https.createServer`) that expressServerOptions sets. */
export type ExpressServerOptions = Required<Pick<ServerOptions, 'IncomingMessage' | 'ServerResponse'>>;

/**
 * Options for `http.createServer(options, app)` (or `https.createServer`) that build each `req` and
 * `res` with Express's prototypes from the start, so that Express 5's `Object.setPrototypeOf` on every
 * request finds them already in place and does nothing. Use it instead of `app.listen`:
 *
 *     const server = http.createServer(expressServerOptions(app), app).listen(port, host);
 *
 * Why: after the swap, V8 gives each request's objects hidden classes of their own (the cache misses
 * settleSwappedPrototype works around), and an Express server promotes a fifth to a third of what it
 * allocates to the old generation (`node --trace-gc-nvp`; a plain loop that swaps prototypes does the
 * same, so it is V8's doing, not Express's): young-generation pauses of 5–8 ms instead of under 1 ms,
 * which set its p99 latency. Built this way, the objects have fast properties and one shared hidden
 * class, as node:http's do, and almost nothing is promoted: the Express front answered 1.9x the
 * requests per second on half the CPU, its p99 halved (bench/README.md, "Express: build req and res
 * with Express's prototypes"). The whole app gains, not only Switchyard's middleware.
 *
 * Nothing else changes: `req instanceof http.IncomingMessage`, `req.constructor`, Express's methods
 * and a mounted sub-app's own prototypes (Express still swaps for those) are as before. Throws
 * SWITCHYARD_ERR_INVALID_OPTION when `app.request` or `app.response` do not inherit from Node's classes.
 */
export function expressServerOptions(app: ExpressPrototypes): ExpressServerOptions {
  return constructorsFor(app, IncomingMessage, ServerResponse);
}

/**
 * expressServerOptions over the given base classes (tests pass others). Node's IncomingMessage and
 * ServerResponse are plain constructor functions that subclasses call with `this`; were one ever an
 * ES class, calling it so would throw on every request, so then the base classes are returned as they
 * are and Express swaps (and settleSwappedPrototype settles) as without these options.
 */
export function constructorsFor(
  app: ExpressPrototypes,
  Request: new (...args: never[]) => IncomingMessage,
  Response: new (...args: never[]) => ServerResponse,
): ExpressServerOptions {
  const { request, response } = app;
  if (!(request instanceof Request)) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_OPTION',
      'expressServerOptions: app.request must inherit from http.IncomingMessage (pass an Express application)',
    );
  }
  if (!(response instanceof Response)) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_OPTION',
      'expressServerOptions: app.response must inherit from http.ServerResponse (pass an Express application)',
    );
  }
  if (isClass(Request) || isClass(Response)) {
    return { IncomingMessage: Request as unknown as typeof IncomingMessage, ServerResponse: Response as unknown as typeof ServerResponse };
  }
  builtWith.add(request);
  builtWith.add(response);
  return {
    IncomingMessage: builtWithPrototype(Request, request) as unknown as typeof IncomingMessage,
    ServerResponse: builtWithPrototype(Response, response) as unknown as typeof ServerResponse,
  };
}

const NEVER: unique symbol = Symbol('never');

/**
 * A constructor function (not a class: a class's `prototype` cannot be set) that runs `base` on the
 * new object, whose prototype is `prototype` from the start.
 */
function builtWithPrototype(base: object, prototype: object): object {
  const construct = base as (this: object, first: unknown, second: unknown) => void;
  function Built(this: Record<string, unknown>, first: unknown, second: unknown): void {
    // Never runs. V8 sizes a constructor's objects by the `this.x = …` assignments in its body, and
    // this body has none of its own: without these, the 40-odd properties Node and Express give a
    // request would overflow the object into dictionary properties. With them, `req` and `res` get
    // fast properties and a hidden class shared between requests, as Node's own do (V8 trims the
    // unused room after the first few objects). packages/core/test/hidden-class.test.ts fails if not.
    // biome-ignore format: one statement, not 52 lines
    if (first === NEVER) this.a = this.b = this.c = this.d = this.e = this.f = this.g = this.h = this.i = this.j = this.k = this.l = this.m = this.n = this.o = this.p = this.q = this.r = this.s = this.t = this.u = this.v = this.w = this.x = this.y = this.z = this.A = this.B = this.C = this.D = this.E = this.F = this.G = this.H = this.I = this.J = this.K = this.L = this.M = this.N = this.O = this.P = this.Q = this.R = this.S = this.T = this.U = this.V = this.W = this.X = this.Y = this.Z = undefined;
    construct.call(this, first, second);
  }
  Built.prototype = prototype;
  return Built;
}

function isClass(base: object): boolean {
  return /^class\b/.test(Function.prototype.toString.call(base));
}
