import { setTimeout as delay } from 'node:timers/promises';
import { dbError } from './errors';

/** Throws `SWITCHYARD_ERR_DB_FAILED` (aborted) when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw dbError('SWITCHYARD_ERR_DB_FAILED', `${what}: aborted`, { cause: signal.reason });
}

/**
 * Calls `check` until it returns something other than `undefined`, at most until `timeoutMs`
 * passes (then `SWITCHYARD_ERR_DB_TIMEOUT`, with `describe()` saying where things stood) or the
 * signal fires. Engines use it for every "wait until the server reaches X" loop.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; signal?: AbortSignal; intervalMs?: number; what: string; describe?: () => string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 2;
  for (;;) {
    throwIfAborted(options.signal, options.what);
    const value = await check();
    if (value !== undefined) return value;
    const left = deadline - Date.now();
    if (left <= 0) {
      const state = options.describe?.();
      throw dbError('SWITCHYARD_ERR_DB_TIMEOUT', `${options.what}: not done after ${options.timeoutMs} ms${state ? ` (${state})` : ''}`);
    }
    try {
      await delay(Math.min(interval, left), undefined, { signal: options.signal });
    } catch {
      throwIfAborted(options.signal, options.what);
    }
    // Start fast (a caught-up replica answers within a few ms), back off to spare a loaded server.
    interval = Math.min(interval * 2, 50);
  }
}
