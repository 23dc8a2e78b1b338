// Over 300 lines on purpose: the sync loop's two small state variables (Phase, Need) and every
// transition between them stay in one file, next to the events they cause; the table and its rules
// are in site-table.ts, host matching in site-selection.ts.
import { EventEmitter } from 'node:events';
import type { SwitchyardError } from './errors';
import { createLogger, type Logger } from './logger';
import type { MaintenanceState } from './maintenance-state';
import { readEnded, readStarted } from './pending-reads';
import { RateLimitedWarnings } from './rate-limited-log';
import type { Route } from './route';
import { HostMatcher } from './site-selection';
import type { SiteState } from './site-state';
import { type ApplyResult, SiteTable } from './site-table';
import type { RawState, Store } from './store-types';

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

/**
 * What the next read must cover. Each need includes the ones before it, so needs merge by taking
 * the stronger: `keys` (the pending keys), `full` (everything, which also finds deletions),
 * `full-after-outage` (everything, judged for lost state; nothing less is applied until it is done).
 */
const NEEDS = ['none', 'keys', 'full', 'full-after-outage'] as const;
type Need = (typeof NEEDS)[number];

/**
 * Where the sync loop is: `idle` (nothing to do), `scheduled` (a read starts on the next turn of
 * the event loop, so invalidations arriving together are coalesced), `reading` (a read is in
 * flight; needs raised meanwhile are served when it returns), `closed`.
 */
type Phase = 'idle' | 'scheduled' | 'reading' | 'closed';

/**
 * Keeps an in-memory copy of every site's route and maintenance state, refreshed by pushed
 * invalidations and a slow periodic resync. Lookups are synchronous map reads; when the store is
 * unreachable the last good state stays in force (fail-static). The table and its rules are
 * `SiteTable` (pure); this class is the sync loop around it: reads, timers, events and logs.
 */
export class Watcher extends EventEmitter<WatcherEventMap> {
  /** The store this watcher reads. */
  readonly store: Store;
  private readonly logger: Logger;
  private readonly resyncIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly table: SiteTable;
  private readonly hosts: HostMatcher;
  private readonly warnings: RateLimitedWarnings;
  private phase: Phase = 'idle';
  private need: Need = 'none';
  private readonly pendingKeys = new Set<string>();
  /** resync() callers waiting for a full read that starts after their call. */
  private fullWaiters: (() => void)[] = [];
  /** Counts outages, so a read that was in flight across one is recognised and not applied. */
  private outages = 0;
  private unwatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private downSince: number | undefined;
  private firstSync: { promise: Promise<void>; resolve: () => void } | undefined;
  /** When the oldest notification not yet applied arrived (for the `applied` event). */
  private pushedAt: number | undefined;
  /** True from scheduling a read until the loop goes idle again (see pending-reads.ts). */
  private countedRead = false;

  constructor(store: Store, options: WatcherOptions = {}) {
    super();
    this.store = store;
    this.logger = options.logger ?? createLogger();
    this.resyncIntervalMs = options.resyncIntervalMs ?? 5000;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.table = new SiteTable(store.keys);
    this.hosts = new HostMatcher((site) => this.table.has(site), options.hostCacheSize ?? 10_000);
    this.warnings = new RateLimitedWarnings(this.logger, options.warnIntervalMs ?? 10_000);
  }

  /** Version of the state applied (bumped by every write made through Switchyard). */
  get version(): number {
    return this.table.version;
  }

  /** Digest of the state applied; see stateDigest. */
  get digest(): string {
    return this.table.digest;
  }

  /**
   * State keys whose value in the store is malformed as last read: this watcher ignores them and
   * keeps its last good value for each (which other front ends may not share). Sorted.
   */
  get invalidKeys(): string[] {
    return this.table.invalidKeys;
  }

  /** True while the store came back without the state applied here and that state is kept. */
  get lostState(): boolean {
    return this.table.lostState;
  }

  /** False while the store is unreachable. */
  get connected(): boolean {
    return this.downSince === undefined;
  }

  /** How many Host headers are cached (bounded by `hostCacheSize`). */
  get hostCacheEntries(): number {
    return this.hosts.size;
  }

  /** Starts watching; resolves after the first full sync. */
  start(): Promise<void> {
    if (this.firstSync) return this.firstSync.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => {
      resolve = done;
    });
    this.firstSync = { promise, resolve };
    const watch = this.store.watch();
    watch.on('invalidate', (keys) => this.invalidate(keys));
    watch.on('down', (error) => this.onDown(error));
    watch.on('up', () => this.onUp());
    this.unwatch = () => watch.close();
    this.scheduleResyncTimer();
    return promise;
  }

  /** The state of a site, read from memory. */
  site(name: string): SiteState | undefined {
    return this.table.site(name);
  }

  /** The route of a site, read from memory. */
  route(name: string): Route | undefined {
    return this.table.site(name)?.route;
  }

  /** The maintenance state of a site, read from memory. */
  maintenance(name: string): MaintenanceState | undefined {
    return this.table.site(name)?.maintenance;
  }

  /** Every site with state, read from memory. */
  allSites(): SiteState[] {
    return this.table.allSites();
  }

  /** Maps a Host header to a site with state (see HostMatcher in site-selection.ts). */
  resolveHost(host: string | undefined): string | undefined {
    return this.hosts.resolve(host);
  }

  /** The raw values in force and their version: what a snapshot file keeps. */
  snapshot(): RawState {
    return this.table.snapshot();
  }

  /**
   * Applies a saved snapshot before the first sync, so a front end restarted while Redis is
   * unreachable serves its last good state. Values are validated like any read; the first full
   * read from Redis decides what follows (see the lost-state rules in SiteTable).
   */
  seed(state: RawState): void {
    this.announce(this.table.seed(state));
  }

  /**
   * Forces a full read; resolves once a full read that started after this call has been applied,
   * or has failed (the store is unreachable), or the watcher was closed.
   */
  resync(): Promise<void> {
    if (this.phase === 'closed') return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.fullWaiters.push(resolve);
      this.raise('full');
    });
  }

  /** Stops watching. The last state stays readable. */
  async close(): Promise<void> {
    this.phase = 'closed';
    this.releaseRead();
    this.unwatch?.();
    if (this.timer) clearTimeout(this.timer);
    for (const resolve of this.fullWaiters.splice(0)) resolve();
  }

  private invalidate(keys: readonly string[] | null): void {
    if (this.phase === 'closed') return;
    this.pushedAt ??= performance.now();
    if (keys === null) {
      this.raise('full');
      return;
    }
    let stateKeys = 0;
    for (const key of keys) {
      if (!this.store.keys.parseState(key)) continue;
      this.pendingKeys.add(key);
      stateKeys += 1;
    }
    if (stateKeys > 0 && this.table.stateWritten()) {
      this.logger.warn({ event: 'store-followed-again', store: this.store.description }, 'state written to the store again; following it');
      this.raise('full');
    }
    // The version key changes with every Switchyard write; re-reading it alone keeps `version` fresh.
    if (keys.length > 0 && this.pendingKeys.size === 0) this.pendingKeys.add(this.store.keys.version);
    if (this.pendingKeys.size > 0) this.raise('keys');
  }

  /** A method, not a field comparison, because the phase changes across awaits. */
  private get closed(): boolean {
    return this.phase === 'closed';
  }

  /** Raises what the next read must cover and makes sure a read comes. */
  private raise(need: Need): void {
    if (NEEDS.indexOf(need) > NEEDS.indexOf(this.need)) this.need = need;
    if (this.phase !== 'idle') return;
    this.phase = 'scheduled';
    if (!this.countedRead) {
      this.countedRead = true;
      readStarted();
    }
    setImmediate(this.runSoon);
  }

  /** run() for setImmediate: one function for the watcher's life, not a closure per read (every front end reads on every flip). */
  private readonly runSoon = (): void => void this.run();

  private releaseRead(): void {
    if (!this.countedRead) return;
    this.countedRead = false;
    readEnded();
  }

  /** The sync loop: reads until nothing is needed, then goes idle; a failed read waits for `up` or the timer. */
  private async run(): Promise<void> {
    if (this.phase !== 'scheduled') {
      this.releaseRead();
      return;
    }
    this.phase = 'reading';
    try {
      while (this.need !== 'none' && this.phase === 'reading') await this.readOnce();
    } catch (error) {
      // Unreachable store: keep serving what we have; the next `up` (or the timer) reads everything.
      if (this.connected && !this.closed)
        this.logger.debug({ event: 'sync-failed', err: (error as Error).message }, 'sync failed; will retry');
      for (const resolve of this.fullWaiters.splice(0)) resolve();
    } finally {
      if (this.phase === 'reading') this.phase = 'idle';
      this.releaseRead();
    }
  }

  private async readOnce(): Promise<void> {
    const need = this.need;
    this.need = 'none';
    const pushedAt = this.pushedAt;
    this.pushedAt = undefined;
    const outages = this.outages;
    if (need === 'keys') {
      // Pending keys are state keys, or the version key alone (which the read adds anyway).
      const keys: string[] = [];
      for (const key of this.pendingKeys) if (key !== this.store.keys.version) keys.push(key);
      this.pendingKeys.clear();
      const read = await this.failing(this.store.readKeys(keys), 'full');
      // A read in flight across an outage may come back from a store that lost everything.
      if (this.outages !== outages || this.closed) {
        this.pushedAt ??= pushedAt;
        return;
      }
      this.announce(this.table.applyKeys(read), pushedAt);
      return;
    }
    const waiters = this.fullWaiters.splice(0);
    this.pendingKeys.clear();
    let all: RawState;
    try {
      all = await this.failing(this.store.readAll(), need);
    } catch (error) {
      // run() answers every waiter when a read fails.
      this.fullWaiters.push(...waiters);
      throw error;
    }
    if (this.closed) {
      for (const resolve of waiters) resolve();
      return;
    }
    if (this.outages !== outages) {
      // Not applied: the full read after the outage serves these callers.
      this.fullWaiters.push(...waiters);
      this.pushedAt ??= pushedAt;
      return;
    }
    const result = this.table.applyFull(all, { judgeLostState: need === 'full-after-outage' });
    if (result.lost) {
      this.logger.warn(
        { event: 'store-lost-state', store: this.store.description, ...result.lost },
        'store came back without the state this front end applies (restarted empty?); keeping the last good state until state is written again',
      );
    }
    this.announce(result, pushedAt);
    this.firstSync?.resolve();
    for (const resolve of waiters) resolve();
  }

  /** A failed read leaves `need` (at least) for the next attempt. */
  private async failing<T>(read: Promise<T>, need: Need): Promise<T> {
    try {
      return await read;
    } catch (error) {
      this.raiseQuietly(need);
      throw error;
    }
  }

  /** Like raise(), without scheduling a read: after a failure the next read waits for `up` or the timer. */
  private raiseQuietly(need: Need): void {
    if (NEEDS.indexOf(need) > NEEDS.indexOf(this.need)) this.need = need;
  }

  /** Emits what a table update did: changes, invalid values (rate-limited warnings), sync, applied. */
  private announce(result: ApplyResult, pushedAt?: number): void {
    if (result.changed) this.hosts.clear();
    for (const change of result.changes) this.emit('change', change.site, change.state, change.previous);
    for (const { key, error } of result.invalid) {
      this.warnings.warn(
        key,
        { event: 'invalid-value', key, err: error.message, code: error.code },
        'ignoring malformed value in the store; the last good value stays in force',
      );
      this.emit('invalid', key, error);
    }
    this.emit('sync', this.table.version);
    if (result.changed && pushedAt !== undefined) this.emit('applied', this.table.version, performance.now() - pushedAt);
  }

  private onDown(error: Error): void {
    if (this.downSince !== undefined || this.phase === 'closed') return;
    this.downSince = Date.now();
    this.outages += 1;
    // After an outage only a full read can tell whether Redis lost the state, so nothing less is applied.
    this.raiseQuietly('full-after-outage');
    this.pendingKeys.clear();
    this.logger.warn(
      { event: 'store-unreachable', store: this.store.description, err: error.message },
      'store unreachable; serving the last good state until it is back',
    );
    this.emit('down', error);
  }

  private onUp(): void {
    if (this.downSince !== undefined) {
      this.logger.warn(
        { event: 'store-reachable', store: this.store.description, downMs: Date.now() - this.downSince },
        'store reachable again; resyncing',
      );
      this.downSince = undefined;
      this.emit('up');
    }
    // The store knows only now whether it can push changes; poll faster if it cannot.
    this.scheduleResyncTimer();
    this.raise('full');
  }

  private scheduleResyncTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.phase === 'closed') return;
    const period = this.store.pushesChanges ? this.resyncIntervalMs : this.pollIntervalMs;
    // ±10%, so front ends started together (a deploy, a Redis restart) do not resync in one burst.
    this.timer = setTimeout(() => {
      if (this.connected) this.raise('full');
      this.scheduleResyncTimer();
    }, jitter(period));
    this.timer.unref();
  }
}

/** `period` ± 10%, at random. */
export function jitter(period: number): number {
  return Math.round(period * (0.9 + Math.random() * 0.2));
}
