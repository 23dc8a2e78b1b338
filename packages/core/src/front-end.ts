import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisOptions } from 'ioredis';
import { SwitchyardError } from './errors';
import { createLogger, type Logger } from './logger';
import { afterPendingReads } from './pending-reads';
import { RequestStats } from './request-stats';
import { readSnapshotFile, writeSnapshotFile } from './snapshot-file';
import { createStore, type FrontEndReport, type RawState, type Store } from './store';
import { jitter, Watcher, type WatcherOptions } from './watcher';

/** Where a front end (and the CLI) looks for Redis when nothing else is said. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Options of a FrontEnd. */
export interface FrontEndOptions extends Omit<WatcherOptions, 'logger'> {
  /**
   * A store, or what to open one from. Default: `SWITCHYARD_REDIS_URL`, else `redis://127.0.0.1:6379`,
   * as the CLI does; the in-process store must be asked for (`memory://`).
   */
  store?: Store | string | RedisOptions;
  /** Key prefix when the store is opened here. */
  prefix?: string;
  logger?: Logger;
  /** How often the heartbeat is published. Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** How long a heartbeat outlives its front end. Default 5000 ms. */
  heartbeatTtlMs?: number;
  /** How long start() waits for the first sync before failing. Default 10 000 ms. */
  startTimeoutMs?: number;
  /** Least time between two heartbeats caused by counter changes. Default 100 ms. */
  statsPublishIntervalMs?: number;
  /**
   * A file where the state in force is saved whenever it changes. A front end that starts while Redis
   * is unreachable serves this last good state instead of failing after `startTimeoutMs`.
   */
  snapshotPath?: string;
  /** Identifier in `switchyard:front:<id>`; default `<host>-<pid>-<random>`. */
  id?: string;
}

/**
 * One running front end: a watcher keeping state in memory, request counters, and a heartbeat
 * that tells operators which state version it applies. Proxy and maintenance middleware take it.
 */
export class FrontEnd {
  readonly id: string;
  readonly store: Store;
  readonly watcher: Watcher;
  readonly stats = new RequestStats();
  readonly logger: Logger;
  private readonly startedAt = new Date().toISOString();
  /** Read once: os.hostname() is a system call, and the heartbeat is written after every sync. */
  private readonly host = hostname();
  private readonly heartbeatIntervalMs: number;
  private readonly heartbeatTtlMs: number;
  private readonly startTimeoutMs: number;
  private readonly ownsStore: boolean;
  private readonly statsPublishIntervalMs: number;
  private statsTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private publishScheduled = false;
  private closed = false;
  private readonly snapshotPath: string | undefined;
  private savedDigest: string | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(options: FrontEndOptions = {}) {
    this.logger = options.logger ?? createLogger();
    // Never silently in-process: a front end that missed its variable would serve 502s for ever while the CLI writes to Redis.
    const target = options.store ?? (process.env.SWITCHYARD_REDIS_URL || DEFAULT_REDIS_URL);
    this.ownsStore = typeof target === 'string' || !('watch' in target);
    this.store = this.ownsStore
      ? createStore(target as string | RedisOptions, { prefix: options.prefix, logger: this.logger })
      : (target as Store);
    this.id = options.id ?? `${this.host}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? 5000;
    this.startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.statsPublishIntervalMs = options.statsPublishIntervalMs ?? 100;
    this.watcher = new Watcher(this.store, { ...options, logger: this.logger });
    // Publish as soon as a new state is applied, so convergence is visible in milliseconds.
    this.watcher.on('sync', () => this.schedulePublish());
    this.watcher.on('up', () => this.schedulePublish());
    // Counter changes (e.g. the last in-flight write finishing) are published early too, but at
    // most every `statsPublishIntervalMs`, so busy traffic does not become a Redis write per request.
    this.stats.on('change', () => this.scheduleStatsPublish());
    this.snapshotPath = options.snapshotPath;
    if (this.snapshotPath) this.watcher.on('sync', () => this.saveSnapshot());
  }

  /** Starts watching and heart-beating; resolves after the first sync, rejects after `startTimeoutMs`. */
  async start(): Promise<this> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SwitchyardError(
              'SWITCHYARD_ERR_STORE_UNAVAILABLE',
              `no state from ${this.store.description} after ${this.startTimeoutMs} ms; check SWITCHYARD_REDIS_URL and that Redis is running`,
            ),
          ),
        this.startTimeoutMs,
      );
    });
    try {
      await Promise.race([this.watcher.start(), timeout]);
    } catch (error) {
      const snapshot = this.snapshotPath ? await readSnapshotFile(this.snapshotPath) : undefined;
      if (!snapshot) {
        await this.close();
        throw error;
      }
      // Redis keeps being retried; its first full read decides what follows.
      this.watcher.seed(snapshot);
      this.logger.warn(
        {
          event: 'snapshot-served',
          store: this.store.description,
          snapshot: this.snapshotPath,
          savedAt: snapshot.savedAt,
          version: snapshot.version,
        },
        'store unreachable at start; serving the state saved in the snapshot file',
      );
    } finally {
      clearTimeout(timer);
    }
    // Jittered once, so front ends started together do not write their heartbeats in one burst.
    this.heartbeatTimer = setInterval(() => void this.publish(), jitter(this.heartbeatIntervalMs));
    this.heartbeatTimer.unref();
    await this.publish();
    return this;
  }

  /** What this front end publishes in its heartbeat. */
  report(): FrontEndReport {
    return {
      id: this.id,
      host: this.host,
      pid: process.pid,
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
      version: this.watcher.version,
      digest: this.watcher.digest,
      connected: this.watcher.connected,
      inFlight: this.stats.inFlight,
      inFlightWrites: this.stats.inFlightWrites,
      held: this.stats.held,
      refused: this.stats.refused,
      invalidKeys: this.watcher.invalidKeys,
      lostState: this.watcher.lostState,
      ...(this.watcher.lostState ? { kept: keptState(this.watcher.snapshot()) } : {}),
      servedByTarget: { ...this.stats.servedByTarget },
    };
  }

  /**
   * Publishes the heartbeat soon, coalescing bursts of changes into one write; after the reads
   * pending in this process (at most 50 ms later), so reports never delay the changes they report.
   */
  private schedulePublish(): void {
    if (this.publishScheduled || this.closed || !this.heartbeatTimer) return;
    this.publishScheduled = true;
    afterPendingReads(() => {
      this.publishScheduled = false;
      void this.publish();
    }, 50);
  }

  private saveSnapshot(): void {
    const path = this.snapshotPath;
    if (!path || this.watcher.digest === this.savedDigest) return;
    this.savedDigest = this.watcher.digest;
    const state = this.watcher.snapshot();
    // Saves run one after another, so an older state never overwrites a newer one.
    this.saving = this.saving
      .then(() => writeSnapshotFile(path, state))
      .catch((error: Error) =>
        this.logger.warn({ event: 'snapshot-not-saved', snapshot: path, err: error.message }, 'could not save the state snapshot'),
      );
  }

  // Runs twice per proxied request (RequestStats' `change`), so it creates no closure: a function that
  // does allocates the closure's context on every call, even when it returns early (185 B per request).
  private scheduleStatsPublish(): void {
    if (this.statsTimer || this.closed || !this.heartbeatTimer) return;
    this.statsTimer = setTimeout(this.publishStats, this.statsPublishIntervalMs);
    this.statsTimer.unref();
  }

  private readonly publishStats = (): void => {
    this.statsTimer = undefined;
    this.schedulePublish();
  };

  /** Stops the heartbeat (removing it from the store) and the watcher; closes the store if it opened it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.statsTimer) clearTimeout(this.statsTimer);
    await this.watcher.close();
    await this.saving;
    // A front end that never started never published a heartbeat (and never connected).
    if (this.heartbeatTimer) await this.store.removeFront(this.id).catch(() => undefined);
    if (this.ownsStore) await this.store.close();
  }

  private async publish(): Promise<void> {
    if (this.closed) return;
    // A failed heartbeat is expected during an outage, which the watcher already logs once.
    await this.store.putFront(this.report(), this.heartbeatTtlMs).catch(() => undefined);
  }
}

function keptState(state: RawState): { version: number; values: Record<string, string> } {
  return { version: state.version, values: Object.fromEntries(state.values) };
}

/** Creates and starts a FrontEnd. */
export async function createFrontEnd(options: FrontEndOptions = {}): Promise<FrontEnd> {
  return new FrontEnd(options).start();
}
