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
