import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';

// V8's own view of objects, for tests about hidden classes. `--allow-natives-syntax` is switched on
// for the calling test process only; the two functions are compiled after it, so V8 accepts the
// intrinsics in them.
setFlagsFromString('--allow-natives-syntax');

/** Whether V8 gives the two objects one hidden class (map): what lets its inline caches hit. Used through neighboursShareMap. */
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

/** Whether the object has fast (in-object or array-backed) properties rather than a dictionary. */
export const hasFastProperties = new Function('a', 'return %HasFastProperties(a)') as (a: object) => boolean;

/**
 * Whether two neighbours in the list share a hidden class. Objects with dictionary properties share
 * theirs through V8's cache of such classes, which a full garbage collection empties: across one,
 * even objects that would share get different classes. Over several objects in a row, one collection
 * between two of them cannot decide a test.
 */
export function neighboursShareMap(objects: readonly object[]): boolean {
  return objects.some((object, i) => i > 0 && haveSameMap(objects[i - 1]!, object));
}

/**
 * Sends a few requests through a throwaway node:http server. V8 sizes the objects of a constructor
 * by watching its first instances (in-object slack tracking); until that ends, two IncomingMessage
 * or ServerResponse objects can differ in size and so in hidden class for reasons of their own.
 */
export async function warmHttpConstructors(): Promise<void> {
  const server = createServer((_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    for (let i = 0; i < 20; i++) await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
