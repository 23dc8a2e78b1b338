import { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Where a value kept per request (or per response) for as long as that object lives goes: the path
 * rule's verdict (request-path.ts), what was noted for metrics and logs (request-info.ts), the
 * headers every response carries (http-response.ts). True: on the object, as a symbol-keyed
 * property; false: in a WeakMap. Each way is cheap on one kind of object and costly on the other
 * (bench/README.md, "Per-request marks"):
 * - Node's own IncomingMessage and ServerResponse (`switchyard serve`, node:http, Koa): a WeakMap
 *   entry per short-lived request costs the garbage collector ephemeron work; properties made
 *   `serve` about 5% faster.
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
  const prototype = Object.getPrototypeOf(target) as unknown;
  return prototype === IncomingMessage.prototype || prototype === ServerResponse.prototype;
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
  // Node's own objects and instances of a subclass still have their constructor's prototype.
  if (Object.getPrototypeOf(target) === (target.constructor as { prototype?: unknown } | undefined)?.prototype) return;
  const settling = target as unknown as Record<symbol, unknown>;
  settling[SETTLING] = true;
  delete settling[SETTLING];
}
