import { isSafeMethod } from './http-methods';

/**
 * Counters a front end reports in its heartbeat. The proxy counts requests in flight to the
 * upstream (writes separately, so a cutover can wait for them to drain); maintenance counts the
 * requests it refuses and holds.
 */
export class RequestStats {
  /** Requests being proxied right now. */
  inFlight = 0;
  /** Requests with an unsafe method (POST, PUT, PATCH, DELETE…) being proxied right now. */
  inFlightWrites = 0;
  /** Requests waiting for maintenance to end. */
  held = 0;
  /** Requests refused by maintenance since start. */
  refused = 0;
  /** Proxied requests completed per target URL since start. */
  readonly servedByTarget: Record<string, number> = {};
  /** Called whenever a counter changes (the front end uses it to publish its heartbeat early). */
  onChange: () => void = () => undefined;

  /** Counts a request refused by maintenance. */
  refuse(): void {
    this.refused += 1;
    this.onChange();
  }

  /** Counts a request held by maintenance until the returned function is called (extra calls are ignored). */
  hold(): () => void {
    return this.track(1, 0, 0);
  }

  /**
   * Counts a proxied request until the returned function is called (extra calls are ignored);
   * then, with a `target`, it counts as served by that target in `servedByTarget`.
   */
  begin(method: string | undefined, target?: string): () => void {
    return this.track(0, 1, isSafeMethod(method) ? 0 : 1, target);
  }

  private track(held: number, inFlight: number, writes: number, target?: string): () => void {
    const add = (sign: 1 | -1) => {
      this.held += sign * held;
      this.inFlight += sign * inFlight;
      this.inFlightWrites += sign * writes;
      if (sign === -1 && target !== undefined) this.servedByTarget[target] = (this.servedByTarget[target] ?? 0) + 1;
      this.onChange();
    };
    add(1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      add(-1);
    };
  }
}
