import type { Logger } from './logger';

/**
 * Warnings that a hostile or broken writer can trigger at will (a malformed value written a
 * thousand times) are logged at most `burst` times per `intervalMs` for each key; the next line
 * that gets through says how many were dropped (`suppressed`), so nothing is hidden and logs stay
 * small. A small burst keeps an operator's two successive typos both visible.
 */
export class RateLimitedWarnings {
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly burst = 3,
    private readonly maxKeys = 1000,
  ) {}

  /** Logs `message` with `fields` unless `burst` warnings for `key` were logged in the last `intervalMs`. */
  warn(key: string, fields: Record<string, unknown>, message: string, now = Date.now()): void {
    let window = this.windows.get(key);
    if (!window) {
      // Bounded: keys come from the store, but a flood of distinct keys must not grow memory.
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value as string);
      window = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(key, window);
    } else if (now - window.start >= this.intervalMs) {
      window.start = now;
      window.logged = 0;
    }
    if (window.logged >= this.burst) {
      window.suppressed += 1;
      return;
    }
    window.logged += 1;
    const suppressed = window.suppressed;
    window.suppressed = 0;
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
