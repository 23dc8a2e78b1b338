import type { ServerResponse } from 'node:http';
import type { RequestStats } from '@switchyard/core';

/** Why a held request stopped waiting: the state changed so it may go on, its time ran out, or the client left. */
export type HoldEnd = 'released' | 'expired' | 'gone';

interface Held {
  /** True when the request would no longer be refused. */
  readonly mayContinue: () => boolean;
  readonly finish: (end: HoldEnd) => void;
}

/**
 * Requests waiting for maintenance to end. Each waits on its own deadline; a state change re-checks
 * every waiting request at once, so the ones that may go on leave immediately, not on a timer.
 */
export class HeldRequests {
  private readonly waiting = new Set<Held>();
  private readonly stats: RequestStats;

  constructor(stats: RequestStats) {
    this.stats = stats;
  }

  /** How many requests are waiting now. */
  get size(): number {
    return this.waiting.size;
  }

  /** Holds a request until `mayContinue()` turns true at a state change, `ms` pass, or the client disconnects. */
  hold(res: ServerResponse, ms: number, mayContinue: () => boolean): Promise<HoldEnd> {
    if (res.destroyed || res.socket?.destroyed) return Promise.resolve('gone');
    return new Promise((resolve) => {
      const release = this.stats.hold();
      const onClose = () => held.finish('gone');
      const timer = setTimeout(() => held.finish('expired'), ms);
      const held: Held = {
        mayContinue,
        finish: (end) => {
          if (!this.waiting.delete(held)) return;
          clearTimeout(timer);
          res.off('close', onClose);
          release();
          resolve(end);
        },
      };
      this.waiting.add(held);
      res.on('close', onClose);
    });
  }

  /** Re-checks every waiting request after a state change; those that may go on are released now. */
  recheck(): void {
    for (const held of [...this.waiting]) {
      let go: boolean;
      try {
        go = held.mayContinue();
      } catch {
        // This runs inside the watcher's change event; the request's own path reports the error.
        go = true;
      }
      if (go) held.finish('released');
    }
  }

  /** Ends every wait (as if its time ran out), e.g. when the middleware is closed. */
  expireAll(): void {
    for (const held of [...this.waiting]) held.finish('expired');
  }
}
