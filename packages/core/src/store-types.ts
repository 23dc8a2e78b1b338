// The store's contract: what both stores implement and what every caller reads. Types only, so
// the stores and their shared helpers can import it without importing each other.
import type { EventEmitter } from 'node:events';
import type { KeyLayout, StateKind } from './keys';
import type { Logger } from './logger';

/** Raw values of every watched key (routes, maintenance) plus the state version, read at one instant. */
export interface RawState {
  readonly version: number;
  /** Full key → raw value, for keys that exist. */
  readonly values: ReadonlyMap<string, string>;
}

/** Raw values of some keys plus the state version, read at one instant; `null` marks an absent key. */
export interface RawRead {
  readonly version: number;
  readonly values: ReadonlyMap<string, string | null>;
}

/** One change to a site's route or maintenance state. */
export interface StateWrite {
  readonly kind: StateKind;
  readonly site: string;
  /** The new raw value; `null` deletes the key. Callers validate before writing. */
  readonly value: string | null;
  /** Compare-and-set: write only if the key still holds this value (`null`: still absent). */
  readonly expect?: { readonly value: string | null };
  /** Who made the change, usually `user@host`. */
  readonly actor: string;
  /** Short verb for the history, e.g. `route set`, `maintenance on`, `rollback`. */
  readonly action: string;
  /** Groups the steps of one cutover in the history. */
  readonly cutoverId?: string;
}

/** What a write did. */
export interface WriteResult {
  /** State version after the write (unchanged when the value was already in place). */
  readonly version: number;
  readonly previous: string | null;
  /** False when the key already held the value: nothing was written and no history entry added. */
  readonly changed: boolean;
}

/** One entry of `switchyard:history`. */
export interface HistoryEntry {
  /** The stream entry id; its first part is the server's time in milliseconds. */
  readonly id: string;
  readonly time: string;
  readonly actor: string;
  readonly site: string;
  readonly kind: StateKind;
  readonly action: string;
  readonly old: string | null;
  readonly new: string | null;
  readonly version: number;
  readonly cutoverId?: string;
}

/** What a live front end publishes about itself every heartbeat. */
export interface FrontEndReport {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** The state version this front end applies. */
  readonly version: number;
  /** Digest of the state this front end applies; equal digests mean equal routing. */
  readonly digest: string;
  /** False while the front end cannot reach the store and is serving its last good state. */
  readonly connected: boolean;
  readonly inFlight: number;
  readonly inFlightWrites: number;
  readonly held: number;
  readonly refused: number;
  /**
   * State keys whose value now in the store is malformed: this front end ignores it and keeps its
   * last good value for the key (which other front ends may not share). Empty when all is well.
   */
  readonly invalidKeys: string[];
  /** True while this front end keeps state that the store lost (Redis came back empty or with an older version). */
  readonly lostState: boolean;
  /** Present only while `lostState`: the raw values (full key → raw string) and version still served, for `restoreKeptState`. */
  readonly kept?: { version: number; values: Record<string, string> };
  /** Proxied requests completed per target URL since start (targets come from the store, so they are few). */
  readonly servedByTarget: Record<string, number>;
}

/** Options of Store.writeBatch. */
export interface BatchOptions {
  /** The version after the batch is at least this (restoring kept state raises it above what front ends hold). */
  readonly versionAtLeast?: number;
}

/** Events of a StoreWatch. */
export interface StoreWatchEventMap {
  /** These keys changed; `null` means anything may have changed (resync everything). */
  invalidate: [keys: readonly string[] | null];
  /** The store became unreachable. Once per outage. */
  down: [error: Error];
  /** The store is reachable and change notifications are flowing (again); resync now. */
  up: [];
}

/** A subscription to a store's change notifications; `close()` ends it. */
export interface StoreWatch extends EventEmitter<StoreWatchEventMap> {
  close(): void;
}

/** Where state lives: Redis, or memory for a single process and tests. */
export interface Store {
  readonly keys: KeyLayout;
  /** Where the store points, with any password removed; safe to log. */
  readonly description: string;
  /** True when changes are pushed; false when watchers must rely on their periodic resync. */
  readonly pushesChanges: boolean;
  /** Reads every route and maintenance key and the version, atomically. */
  readAll(): Promise<RawState>;
  /** Reads the given keys and the version, atomically. */
  readKeys(keys: readonly string[]): Promise<RawRead>;
  /** Writes one value atomically: compare-and-set, version bump and history entry together. */
  write(change: StateWrite): Promise<WriteResult>;
  /**
   * Writes several keys atomically: every compare-and-set must hold or nothing is written
   * (ConflictError); one version bump for the whole batch and one history entry per changed key.
   * Results are in the order of `changes`. A key may appear once per batch.
   */
  writeBatch(changes: readonly StateWrite[], options?: BatchOptions): Promise<WriteResult[]>;
  /** Most recent history entries, newest first. */
  history(limit: number): Promise<HistoryEntry[]>;
  /** Publishes a front end's heartbeat; it expires after `ttlMs` unless renewed. */
  putFront(report: FrontEndReport, ttlMs: number): Promise<void>;
  removeFront(id: string): Promise<void>;
  /** Every front end whose heartbeat has not expired. */
  listFronts(): Promise<FrontEndReport[]>;
  /** The raw cutover journal of a site, or null; its format is `cutover-journal.ts` (parse/serialize). */
  getCutover(site: string): Promise<string | null>;
  /** Stores (or, with null, removes) the cutover journal of a site. */
  putCutover(site: string, value: string | null): Promise<void>;
  /** Stores the journal of a new cutover only if the site has none; false when another cutover got there first. */
  createCutover(site: string, value: string): Promise<boolean>;
  /** Starts delivering change notifications as events (listeners attached right after the call hear the first `up`). */
  watch(): StoreWatch;
  close(): Promise<void>;
}

/** Options of createStore. */
export interface StoreOptions {
  /** Key prefix, `switchyard:` by default; lets several environments share one Redis. */
  prefix?: string;
  logger?: Logger;
  /** Keep reconnecting forever (front ends, the default) or give up after the first failure (CLI). */
  reconnect?: boolean;
  /** Milliseconds to wait for a connection, 5000 by default. */
  connectTimeoutMs?: number;
  /**
   * Deadline of every Redis command, 5000 ms by default: a Redis that accepts the connection but
   * never answers (paused, dead peer) fails the command with SWITCHYARD_ERR_STORE_UNAVAILABLE.
   */
  commandTimeoutMs?: number;
}
