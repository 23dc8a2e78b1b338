import type { MaintenanceState, Store } from '@switchyard/core';
import type { CutoverCleanup, CutoverEvent, CutoverPlan } from './events';
import type { CutoverReadiness, CutoverTask } from './tasks';

/** Options shared by cutover, resumeCutover and abortCutover. */
export interface CutoverBaseOptions {
  /** Where the state lives; any store (Redis, or `memory://` for in-process use). */
  store: Store;
  /** Default `default`. */
  site?: string;
  /** Recorded in the history and the journal; default `user@host`. */
  actor?: string;
  /** How long each wait for the front ends to apply a change may take. Default 10 000 ms. */
  convergenceTimeoutMs?: number;
  /** Called with every progress event (plan, steps, output, clean-up, outcome). */
  onEvent?: (event: CutoverEvent) => void;
  /** Aborting interrupts the cutover: the running command is killed, then everything is put back. */
  signal?: AbortSignal;
  /**
   * Moves the database too, by replication (the database step; `--db-source`, `--db-target`). Give
   * it again to `resumeCutover` and to `abortCutover` (which unfences the source with it): the URLs,
   * which may carry passwords, are never journaled.
   */
  db?: CutoverDatabaseOptions;
}

/** Options of the steps that cutover and resumeCutover run. */
export interface CutoverStepOptions extends CutoverBaseOptions {
  /** Copies the data to the new server (the sync step): a shell command or an async function. */
  sync?: CutoverTask;
  /** Polled after the sync until it passes (e.g. replication caught up). */
  untilReady?: CutoverReadiness;
  /** Default 300 000 ms. */
  readyTimeoutMs?: number;
  /** Default 1000 ms. */
  readyIntervalMs?: number;
  /** Checks the new target after the switch (the verify step); default: a health check of it unless `skipHealthCheck`. */
  verify?: CutoverTask;
  /** Path of the health checks. Default `/`. */
  healthPath?: string;
  /** Default 5000 ms. */
  healthTimeoutMs?: number;
  /** Skip the health checks of the new target (before the cutover, and as the default verification). */
  skipHealthCheck?: boolean;
  /** How long in-flight writes may take to finish once maintenance is on. Default 30 000 ms. */
  drainTimeoutMs?: number;
}

/**
 * The database step: the target replicates the source (PostgreSQL streaming or logical,
 * MySQL/MariaDB binlog); after the drain the target catches up and is promoted, before the switch.
 * The URLs may carry passwords: they are never printed, journaled or put in the history.
 */
export interface CutoverDatabaseOptions {
  /** The database the site uses now: `postgres://…`, `postgresql://…`, `mysql://…` or `mariadb://…`. */
  source: string;
  /** The database that replicates it and that the new server uses; promoted during the window. */
  target: string;
  /** Pre-flight refuses when the target is further behind than this (by positions, in time). Default 5000 ms. */
  maxLagMs?: number;
  /** Pre-flight refuses while a write transaction on the source is older than this (it would hold the drain). Default 10 000 ms. */
  maxTransactionAgeMs?: number;
  /** After the drain, make the source refuse writes from every client (workers, cron), undone if the cutover fails before promotion. */
  fenceSource?: boolean;
  /** A failure after promotion goes back to the old server anyway (writes made on the new database since are not on the old one). */
  rollbackAfterPromote?: boolean;
  /** How long the target may take to reach the source's position in the window. Default 30 000 ms. */
  catchUpTimeoutMs?: number;
  /** How long promotion may take. Default 60 000 ms. */
  promoteTimeoutMs?: number;
  /** Deadline of each database query. Default 5000 ms. */
  queryTimeoutMs?: number;
}

/** Options of cutover. */
export interface CutoverOptions extends CutoverStepOptions {
  /** The new target, an absolute http(s) URL. */
  to: string;
  /** Full maintenance (every request refused) instead of read-only. */
  full?: boolean;
  /** Milliseconds a refused request may wait for the window to end, so users see a pause rather than an error. */
  hold?: number;
  /** More maintenance fields (message, retryAfter, allowIps…). */
  maintenance?: Partial<Omit<MaintenanceState, 'mode' | 'startedAt' | 'by'>>;
  /** Run the pre-flight checks and announce the plan, then stop. */
  dryRun?: boolean;
  /** Asked after the plan is announced; resolving to false cancels before anything changes. */
  confirm?: (plan: CutoverPlan) => Promise<boolean>;
}

/** What abortCutover did. */
export interface CutoverAbortReport {
  readonly cutoverId: string;
  readonly site: string;
  readonly cleanup: CutoverCleanup;
}

/** Defaults of the waits, in one place. */
export const CUTOVER_DEFAULTS = {
  convergenceTimeoutMs: 10_000,
  drainTimeoutMs: 30_000,
  readyTimeoutMs: 300_000,
  readyIntervalMs: 1000,
} as const;
