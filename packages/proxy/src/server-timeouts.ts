import { SwitchyardError } from '@switchyard/core';

/**
 * Deadlines a server on a public address needs, so slow or stalled clients cannot hold connections
 * (slowloris) or count as writes in flight for ever.
 */
export interface ServerTimeouts {
  /** Time a client has to send the complete request head; the connection is closed after it. Default 15 000 ms. */
  headersTimeoutMs?: number;
  /**
   * Time a client has to send the whole request, body included (an upload slower than this is cut
   * with a 408; it was never acknowledged, so nothing is lost). Default 300 000 ms. 0 disables it.
   */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. Default 5000 ms. */
  keepAliveTimeoutMs?: number;
}

const DEFAULT_TIMEOUTS: Required<ServerTimeouts> = { headersTimeoutMs: 15_000, requestTimeoutMs: 300_000, keepAliveTimeoutMs: 5000 };

/** Applies the defaults; throws SWITCHYARD_ERR_INVALID_OPTION on a value that is not a whole number of milliseconds. */
export function resolveTimeouts(timeouts: ServerTimeouts = {}): Required<ServerTimeouts> {
  const resolved = { ...DEFAULT_TIMEOUTS };
  for (const name of Object.keys(DEFAULT_TIMEOUTS) as (keyof ServerTimeouts)[]) {
    const value = timeouts[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < (name === 'requestTimeoutMs' ? 0 : 1)) {
      throw new SwitchyardError(
        'SWITCHYARD_ERR_INVALID_OPTION',
        `timeouts.${name} must be a whole number of milliseconds, not ${JSON.stringify(value)}`,
      );
    }
    resolved[name] = value;
  }
  // Node requires the whole-request deadline to be at least the headers one.
  if (resolved.requestTimeoutMs !== 0 && resolved.requestTimeoutMs < resolved.headersTimeoutMs)
    resolved.headersTimeoutMs = resolved.requestTimeoutMs;
  return resolved;
}

/** A quarter of the shortest deadline, between 100 ms and 1 s: a deadline is enforced at most that late. */
export function checkInterval(timeouts: Required<ServerTimeouts>): number {
  const shortest = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs || Number.POSITIVE_INFINITY);
  return Math.max(100, Math.min(1000, Math.floor(shortest / 4)));
}
