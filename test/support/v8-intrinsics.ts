import { setFlagsFromString } from 'node:v8';

// V8's own view of objects, for tests about hidden classes. `--allow-natives-syntax` is switched on
// for the calling test process only; the two functions are compiled after it, so V8 accepts the
// intrinsics in them.
setFlagsFromString('--allow-natives-syntax');

/** Whether V8 gives the two objects one hidden class (map): what lets its inline caches hit. */
export const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

/** Whether the object has fast (in-object or array-backed) properties rather than a dictionary. */
export const hasFastProperties = new Function('a', 'return %HasFastProperties(a)') as (a: object) => boolean;
