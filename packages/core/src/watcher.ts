import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import type { SwitchyardError } from './errors';
import type { StateKind } from './keys';
import { createLogger, type Logger } from './logger';
import type { MaintenanceState } from './maintenance-state';
import { RateLimitedWarnings } from './rate-limited-log';
import type { Route } from './route';
import { parseStateValue, type SiteState, stateDigest } from './site-state';
import type { RawRead, RawState, Store } from './store';

/** Options of a Watcher. */
export interface WatcherOptions {
  logger?: Logger;
  /** Full resync period, the safety net behind pushed invalidations. Default 5000 ms. */
  resyncIntervalMs?: number;
  /** Resync period when the store cannot push changes (CLIENT TRACKING refused). Default 1000 ms. */
  pollIntervalMs?: number;
  /** Bound on cached Host-header resolutions, so random Host headers cannot grow memory. Default 10 000. */
  hostCacheSize?: number;
  /** Least time between two "malformed value" warnings for one key; the next says how many were suppressed. Default 10 000 ms. */
  warnIntervalMs?: number;
}

/** Events a Watcher emits. */
export interface WatcherEventMap {
  /** A site's effective state changed (`state` undefined: the site has no state any more). */
  change: [site: string, state: SiteState | undefined, previous: SiteState | undefined];
  /** A sync finished and `version`/`digest` describe what is applied now. */
  sync: [version: number];
  /** A change pushed by the store is in force, `elapsedMs` after its notification arrived (for metrics). */
  applied: [version: number, elapsedMs: number];
  /** A malformed value was found and ignored; the previous good value stays in force. */
  invalid: [key: string, error: SwitchyardError];
  /** The store became unreachable; the last good state keeps being served. */
  down: [error: Error];
  /** The store is reachable again. */
  up: [];
}

const UNKNOWN = '';

/**
 * Keeps an in-memory copy of every site's route and maintenance state, refreshed by pushed
 * invalidations and a slow periodic resync. Lookups are synchronous map reads; when the store is
 * unreachable the last good state stays in force (fail-static).
 */
export class Watcher extends EventEmitter<WatcherEventMap> {
  /** The store this watcher reads. */
  readonly store: Store;
  private readonly logger: Logger;
  private readonly resyncIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly sites = new Map<string, SiteState>();
  /** Last raw value seen per key (good or bad), so a bad value is reported once and a repeat is free. */
  private readonly seenRaw = new Map<string, string>();
  /** Raw value of every value in force, for snapshots. */
  private readonly appliedRaw = new Map<string, string>();
  private readonly hostCache: LRUCache<string, string>;
  /** Keys whose stored value is malformed right now (the last good value stays in force). */
  private readonly invalid = new Set<string>();
  private readonly warnings: RateLimitedWarnings;
  private readonly pendingKeys = new Set<string>();
  private fullResyncPending = false;
  private syncing = false;
  private flushScheduled = false;
  private unwatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private downSince: number | undefined;
  private firstSync: { promise: Promise<void>; resolve: () => void } | undefined;
  private stateVersion = 0;
  /** Set when the store goes down: the first full read after it decides whether Redis came back without our state. */
  private checkForLostState = false;
  /** Redis came back empty or older: full reads add and change but delete nothing until a change is pushed. */
  private keepingThroughLostState = false;
  private stateDigestValue = stateDigest([]);
  /** When the oldest invalidation not yet read arrived (performance.now()), to time how long a flip takes to apply. */
  private pushedAt: number | undefined;
  private closed = false;

  constructor(store: Store, options: WatcherOptions = {}) {
    super();
    this.store = store;
    this.logger = options.logger ?? createLogger();
    this.resyncIntervalMs = options.resyncIntervalMs ?? 5000;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.hostCache = new LRUCache({ max: options.hostCacheSize ?? 10_000 });
    this.warnings = new RateLimitedWarnings(this.logger, options.warnIntervalMs ?? 10_000);
  }

  /** Version of the state applied (bumped by every write made through Switchyard). */
  get version(): number {
    return this.stateVersion;
  }

  /** Digest of the state applied; see stateDigest. */
  get digest(): string {
    return this.stateDigestValue;
  }

  /**
   * State keys whose value in the store is malformed as last read: this watcher ignores them and
   * keeps its last good value for each (which other front ends may not share). Sorted.
   */
  get invalidKeys(): string[] {
    return [...this.invalid].sort();
  }

  /** True while the store came back without the state applied here and that state is kept (see noticeLostState). */
  get lostState(): boolean {
    return this.keepingThroughLostState;
  }

  /** False while the store is unreachable. */
  get connected(): boolean {
    return this.downSince === undefined;
  }

  /** How many Host headers are cached (bounded by `hostCacheSize`). */
  get hostCacheEntries(): number {
    return this.hostCache.size;
  }

  /** Starts watching; resolves after the first full sync. */
  start(): Promise<void> {
    if (this.firstSync) return this.firstSync.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => {
      resolve = done;
    });
    this.firstSync = { promise, resolve };
    this.unwatch = this.store.watch({
      invalidate: (keys) => this.invalidate(keys),
      down: (error) => this.onDown(error),
      up: () => this.onUp(),
    });
    this.scheduleResyncTimer();
    return promise;
  }

  /** The state of a site, read from memory. */
  site(name: string): SiteState | undefined {
    return this.sites.get(name);
  }

  /** The route of a site, read from memory. */
  route(name: string): Route | undefined {
    return this.sites.get(name)?.route;
  }

  /** The maintenance state of a site, read from memory. */
  maintenance(name: string): MaintenanceState | undefined {
    return this.sites.get(name)?.maintenance;
  }

  /** Every site with state, read from memory. */
  allSites(): SiteState[] {
    return [...this.sites.values()];
  }

  /**
   * Maps a Host header to a site with state: the exact host name (port dropped, lower-cased),
   * then `*.parent` wildcards. Results, including "unknown", are kept in a bounded LRU.
   */
  resolveHost(host: string | undefined): string | undefined {
    if (!host || host.length > 260) return undefined;
    const cached = this.hostCache.get(host);
    if (cached !== undefined) return cached === UNKNOWN ? undefined : cached;
    const resolved = this.matchHost(host);
    this.hostCache.set(host, resolved ?? UNKNOWN);
    return resolved;
  }

  /** The raw values in force and their version: what a snapshot file keeps. */
  snapshot(): RawState {
    return { version: this.stateVersion, values: new Map(this.appliedRaw) };
  }

  /**
   * Applies a saved snapshot before the first sync, so a front end restarted while Redis is
   * unreachable serves its last good state. Values are validated like any read; the first full
   * read from Redis decides what follows (see the lost-state check).
   */
  seed(state: RawState): void {
    this.apply({ version: state.version, values: state.values });
  }

  /** Forces a full resync now; resolves when it has been applied (or failed). */
  async resync(): Promise<void> {
    this.fullResyncPending = true;
    await this.flush();
  }

  /** Stops watching. The last state stays readable. */
  async close(): Promise<void> {
    this.closed = true;
    this.unwatch?.();
    if (this.timer) clearTimeout(this.timer);
  }

  private matchHost(host: string): string | undefined {
    let name = host.toLowerCase();
    name = name.startsWith('[') ? name.slice(0, name.indexOf(']') + 1) : name.replace(/:\d*$/, '');
    name = name.replace(/\.$/, '');
    if (this.sites.has(name)) return name;
    for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
      const wildcard = `*${name.slice(dot)}`;
      if (this.sites.has(wildcard)) return wildcard;
    }
    return undefined;
  }

  private invalidate(keys: readonly string[] | null): void {
    this.pushedAt ??= performance.now();
    if (keys === null) this.fullResyncPending = true;
    else for (const key of keys) if (this.store.keys.parseState(key)) this.pendingKeys.add(key);
    if (this.keepingThroughLostState && this.pendingKeys.size > 0) {
      // Someone is writing state to this Redis again: from now on it is the truth, deletions included.
      this.keepingThroughLostState = false;
      this.fullResyncPending = true;
      this.logger.warn({ store: this.store.description }, 'state written to the store again; following it');
    }
    // The version key changes with every Switchyard write; re-reading it alone keeps `version` fresh.
    if (keys !== null && keys.length > 0 && this.pendingKeys.size === 0) this.pendingKeys.add(this.store.keys.version);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Coalesce invalidations that arrive together into one read.
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.syncing || this.closed) return;
    this.syncing = true;
    try {
      while (!this.closed && (this.fullResyncPending || this.pendingKeys.size > 0)) {
        const pushedAt = this.pushedAt;
        this.pushedAt = undefined;
        let changed: boolean;
        // After an outage only a full read can tell whether Redis lost the state, so nothing less is applied.
        if (this.fullResyncPending || this.checkForLostState) {
          this.fullResyncPending = false;
          this.pendingKeys.clear();
          const all = await this.store.readAll();
          const read = new Map<string, string | null>(all.values);
          if (this.checkForLostState) {
            this.checkForLostState = false;
            this.noticeLostState(all.version, all.values.size);
          }
          // Keys we hold a value for but that are gone now were deleted (unless Redis lost them).
          if (!this.keepingThroughLostState) for (const key of this.seenRaw.keys()) if (!read.has(key)) read.set(key, null);
          changed = this.apply({ version: this.keepingThroughLostState ? this.stateVersion : all.version, values: read });
          this.firstSync?.resolve();
        } else {
          const keys = [...this.pendingKeys];
          this.pendingKeys.clear();
          const read = await this.store.readKeys(keys.filter((key) => this.store.keys.parseState(key)));
          // A read that was in flight when the store went down may come back from a store that lost everything.
          if (this.checkForLostState) {
            this.fullResyncPending = true;
            this.pushedAt ??= pushedAt;
            changed = false;
          } else {
            changed = this.apply(read);
          }
        }
        if (changed && pushedAt !== undefined) this.emit('applied', this.stateVersion, performance.now() - pushedAt);
      }
    } catch (error) {
      // Unreachable store: keep serving what we have; the next `up` resyncs everything.
      this.fullResyncPending = true;
      if (this.connected && !this.closed) this.logger.debug({ err: (error as Error).message }, 'sync failed; will retry');
    } finally {
      this.syncing = false;
    }
  }

  /** Applies a read; true when the state in force changed. */
  private apply(read: RawRead): boolean {
    let changed = false;
    for (const [key, raw] of read.values) {
      const parsed = this.store.keys.parseState(key);
      if (parsed && this.applyValue(key, parsed.kind, parsed.site, raw)) changed = true;
    }
    if (changed) {
      this.stateDigestValue = stateDigest(this.sites.values());
      this.hostCache.clear();
    }
    this.stateVersion = read.version;
    this.emit('sync', read.version);
    return changed;
  }

  private applyValue(key: string, kind: StateKind, site: string, raw: string | null): boolean {
    const previous = this.sites.get(site);
    if (raw === null) {
      this.invalid.delete(key);
      this.seenRaw.delete(key);
      this.appliedRaw.delete(key);
      if (!previous?.[kind]) return false;
      const { [kind]: _removed, ...rest } = previous;
      return this.replace(site, rest, previous);
    }
    if (this.seenRaw.get(key) === raw) return false;
    this.seenRaw.set(key, raw);
    let value: Route | MaintenanceState;
    try {
      value = parseStateValue(kind, raw);
    } catch (error) {
      const invalid = error as SwitchyardError;
      this.invalid.add(key);
      this.warnings.warn(
        key,
        { key, err: invalid.message, code: invalid.code },
        'ignoring malformed value in the store; the last good value stays in force',
      );
      this.emit('invalid', key, invalid);
      return false;
    }
    this.invalid.delete(key);
    this.appliedRaw.set(key, raw);
    return this.replace(site, { ...(previous ?? { site }), [kind]: value }, previous);
  }

  private replace(site: string, next: SiteState, previous: SiteState | undefined): boolean {
    const empty = !next.route && !next.maintenance;
    if (empty) this.sites.delete(site);
    else this.sites.set(site, next);
    this.emit('change', site, empty ? undefined : next, previous);
    return true;
  }

  /**
   * A Redis that restarts without persistence, or fails over to an empty replica, comes back without
   * the routes: applying that would turn every site into a 502. Fail-static covers it too: keep the
   * last good state and say so, until someone writes state again.
   */
  private noticeLostState(version: number, keysInStore: number): void {
    const lost = version < this.stateVersion || (keysInStore === 0 && this.sites.size > 0);
    if (!lost) return;
    this.keepingThroughLostState = true;
    this.logger.warn(
      { store: this.store.description, version, appliedVersion: this.stateVersion, keysInStore, sitesHeld: this.sites.size },
      'store came back without the state this front end applies (restarted empty?); keeping the last good state until state is written again',
    );
  }

  private onDown(error: Error): void {
    if (this.downSince !== undefined || this.closed) return;
    this.downSince = Date.now();
    this.checkForLostState = true;
    this.logger.warn(
      { store: this.store.description, err: error.message },
      'store unreachable; serving the last good state until it is back',
    );
    this.emit('down', error);
  }

  private onUp(): void {
    if (this.downSince !== undefined) {
      this.logger.warn({ store: this.store.description, downMs: Date.now() - this.downSince }, 'store reachable again; resyncing');
      this.downSince = undefined;
      this.emit('up');
    }
    // The store knows only now whether it can push changes; poll faster if it cannot.
    this.scheduleResyncTimer();
    void this.resync();
  }

  private scheduleResyncTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.closed) return;
    const period = this.store.pushesChanges ? this.resyncIntervalMs : this.pollIntervalMs;
    this.timer = setTimeout(() => {
      if (this.connected) void this.resync();
      this.scheduleResyncTimer();
    }, period);
    this.timer.unref();
  }
}
