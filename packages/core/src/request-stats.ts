import { EventEmitter } from 'node:events';
import { isSafeMethod } from './http-methods';

/** Events RequestStats emits. */
export interface RequestStatsEventMap {
  /** A counter changed (the front end publishes its heartbeat early; graceful shutdown waits for in-flight to reach 0). */
  change: [];
}

/**
 * Counters a front end reports in its heartbeat. The proxy counts requests in flight to the
 * upstream (writes separately, so a cutover can wait for them to drain); maintenance counts the
 * requests it refuses and holds.
 */
export class RequestStats extends EventEmitter<RequestStatsEventMap> {
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

  /**
   * Resolves once no proxied request is in flight, or after `timeoutMs`; true when drained.
   * Event-driven: nothing polls.
   */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (drained: boolean) => {
        clearTimeout(timer);
        this.off('change', onChange);
        resolve(drained);
      };
      const onChange = () => {
        if (this.inFlight === 0) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.on('change', onChange);
    });
  }

  /** Counts a request refused by maintenance. */
  refuse(): void {
    this.refused += 1;
    this.emit('change');
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

  // One closure per request (the returned one), not a helper closure beside it: this runs for every
  // proxied request.
  private track(held: number, inFlight: number, writes: number, target?: string): () => void {
    this.held += held;
    this.inFlight += inFlight;
    this.inFlightWrites += writes;
    this.emit('change');
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.held -= held;
      this.inFlight -= inFlight;
      this.inFlightWrites -= writes;
      if (target !== undefined) this.servedByTarget[target] = (this.servedByTarget[target] ?? 0) + 1;
      this.emit('change');
    };
  }
}
