import type { Logger } from '@switchyard/core';

/**
 * How the target follows the source, detected when the move is opened:
 * - `postgres-streaming`: the target is a physical standby of the source (in recovery).
 * - `postgres-logical`: the target subscribes to a publication on the source.
 * - `mysql-gtid` / `mysql-binlog`: the target is a MySQL/MariaDB replica of the source, by GTID or by file and offset.
 */
export type ReplicationKind = 'postgres-streaming' | 'postgres-logical' | 'mysql-gtid' | 'mysql-binlog';

/** Options of `openDatabaseMove`. */
export interface DatabaseMoveOptions {
  /** Deadline of each connection attempt (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Deadline of each query that is not itself a wait (default 5000 ms). */
  queryTimeoutMs?: number;
  /** Where the mover logs what it does (never passwords); silent by default. */
  logger?: Logger;
}

/** The guardrails `preflight` enforces. */
export interface PreflightLimits {
  /** Refuse when the target is further behind than this (by time, judged from positions). */
  maxLagMs: number;
  /** Refuse when a transaction on the source has been open longer than this (it would hold the drain). */
  maxTransactionAgeMs: number;
  /** Aborts the checks. */
  signal?: AbortSignal;
}

/** What `preflight` found when every guardrail passed. */
export interface PreflightReport {
  /** The replication kind. */
  kind: ReplicationKind;
  /** How far behind the target is in time, `null` when the engine cannot tell. */
  lagMs: number | null;
  /** How far behind the target is in bytes of log, `null` when the engine cannot tell (GTID). */
  lagBytes: number | null;
  /** One line per check that passed, for the plan and `--dry-run` (no passwords). */
  checks: string[];
}

/** A point in the source's change stream: an LSN, a GTID set, or `file:offset`. */
export interface ReplicationPosition {
  /** The kind of replication the position belongs to. */
  readonly kind: ReplicationKind;
  /** The position as the engine writes it (e.g. `0/3000148`, `0-1-42`, `mysql-bin.000003:1234`). */
  readonly text: string;
}

/**
 * One database move: a source and the target that replicates it. Obtain one with `openDatabaseMove`;
 * the cutover calls `preflight` before maintenance, then (after the drain) `fence` when asked,
 * `catchUpPosition`, `waitFor` and `promote`, and `unfence` when it fails before promotion.
 */
export interface DatabaseMove {
  /** The replication kind, detected when the move was opened. */
  readonly kind: ReplicationKind;
  /** The source URL with the password removed (safe to print). */
  readonly source: string;
  /** The target URL with the password removed (safe to print). */
  readonly target: string;
  /** Checks every guardrail; throws `SWITCHYARD_ERR_DB_PREFLIGHT` naming the first that failed. Changes nothing. */
  preflight(limits: PreflightLimits): Promise<PreflightReport>;
  /** Makes the source refuse writes, from every client (not only those behind the front ends). */
  fence(): Promise<void>;
  /** Undoes `fence` (used when the cutover fails before promotion). */
  unfence(): Promise<void>;
  /** The source's position now; read it after the drain (and the fence). */
  catchUpPosition(): Promise<ReplicationPosition>;
  /** Resolves once the target has applied everything up to `position`; `SWITCHYARD_ERR_DB_TIMEOUT` after `timeoutMs`. */
  waitFor(position: ReplicationPosition, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
  /** Makes the target writable and detached from the source (logical: sequences copied, subscription disabled). */
  promote(options: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
  /** Closes the connections. */
  close(): Promise<void>;
}

/** What `openDatabaseMove` hands an engine: the raw URLs (with passwords: never print them) and resolved options. */
export interface EngineContext {
  /** Source URL as given, password included. */
  readonly sourceUrl: string;
  /** Target URL as given, password included. */
  readonly targetUrl: string;
  /** Deadline of each connection attempt. */
  readonly connectTimeoutMs: number;
  /** Deadline of each ordinary query. */
  readonly queryTimeoutMs: number;
  /** Logger (never give it a password). */
  readonly logger: Logger;
}
