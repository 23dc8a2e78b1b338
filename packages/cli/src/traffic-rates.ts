/**
 * Requests per second per target, derived from the front ends' heartbeats: each front end publishes
 * `servedByTarget`, a cumulative count of the proxied requests it completed per target URL. The rate
 * of a target is the growth of those counters over a short window, summed over the front ends, so
 * `watch` and `cutover` can show traffic leaving the old server and arriving at the new one.
 */

/** The part of a heartbeat the rates need (older front ends publish no `servedByTarget`). */
export interface TrafficReport {
  readonly id: string;
  /** When the front end published this heartbeat (ISO 8601): the time its counters were read. */
  readonly updatedAt: string;
  readonly servedByTarget?: Readonly<Record<string, number>>;
}

interface Reading {
  readonly at: number;
  readonly counts: Readonly<Record<string, number>>;
}

/** Default width of the window rates are measured over. */
const WINDOW_MS = 3000;

/**
 * Keeps recent heartbeat readings per front end and turns them into rates. Feed it every list of
 * heartbeats read (`update`); readings are timed by the heartbeat's own `updatedAt`, so reading the
 * same heartbeat twice, or reading late, does not distort the rate.
 */
export class TrafficRates {
  private readonly readings = new Map<string, Reading[]>();
  private readonly windowMs: number;

  constructor(options: { windowMs?: number } = {}) {
    this.windowMs = options.windowMs ?? WINDOW_MS;
  }

  /**
   * Adds the heartbeats just read and returns requests per second per target over the window,
   * summed over the live front ends, highest first. A front end seen once has no rate yet; one that
   * restarted (a counter went down) counts from zero, as Prometheus' `rate()` does; one that left is
   * forgotten. Targets a front end served in the window but no longer serves show as 0.
   */
  update(reports: readonly TrafficReport[]): Map<string, number> {
    const live = new Set<string>();
    const totals = new Map<string, number>();
    for (const report of reports) {
      live.add(report.id);
      const at = Date.parse(report.updatedAt);
      if (!Number.isFinite(at)) continue;
      const history = this.readings.get(report.id) ?? [];
      const last = history.at(-1);
      if (!last || at > last.at) history.push({ at, counts: report.servedByTarget ?? {} });
      // Keep the newest reading that is at least a window old, and everything after it.
      while (history.length > 2 && history[1]!.at <= history.at(-1)!.at - this.windowMs) history.shift();
      this.readings.set(report.id, history);
      if (history.length < 2) continue;
      const first = history[0]!;
      const newest = history.at(-1)!;
      const seconds = (newest.at - first.at) / 1000;
      for (const target of new Set([...Object.keys(first.counts), ...Object.keys(newest.counts)])) {
        const before = first.counts[target] ?? 0;
        const now = newest.counts[target] ?? 0;
        const served = now >= before ? now - before : now;
        totals.set(target, (totals.get(target) ?? 0) + served / seconds);
      }
    }
    for (const id of this.readings.keys()) if (!live.has(id)) this.readings.delete(id);
    return new Map([...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  }
}

/** `http://10.0.0.2:3000 152 req/s · http://10.0.0.1:3000 0 req/s`, or '' when there is nothing to show. */
export function formatRates(rates: ReadonlyMap<string, number>): string {
  return [...rates].map(([target, rate]) => `${target} ${rate >= 10 || rate === 0 ? Math.round(rate) : rate.toFixed(1)} req/s`).join(' · ');
}

/**
 * True when `next` is worth showing after `previous`: a target appeared or disappeared, or a rate moved
 * by more than a fifth (and by at least 1 req/s). Steady traffic stays quiet; a switch does not.
 */
export function ratesChanged(previous: ReadonlyMap<string, number>, next: ReadonlyMap<string, number>): boolean {
  if (previous.size !== next.size) return true;
  for (const [target, rate] of next) {
    const before = previous.get(target);
    if (before === undefined) return true;
    const moved = Math.abs(rate - before);
    if (moved >= 1 && moved > Math.max(rate, before) / 5) return true;
  }
  return false;
}
