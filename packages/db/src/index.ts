/**
 * `@switchyard/db`: moves a database along with a cutover. The target replicates the source; the
 * mover checks the guardrails before maintenance starts, then, inside the window, fences the source
 * (optionally), reads its position, waits until the target has it, and promotes the target.
 *
 * Engines live in `./postgres` and `./mysql` and are loaded (with their drivers, `pg` and `mysql2`)
 * only when a URL of their scheme is used, so a cutover without a database pays nothing for them.
 */
import { SwitchyardError, silentLogger } from '@switchyard/core';
import { dbError } from './errors';
import type { DatabaseMove, DatabaseMoveOptions, EngineContext } from './types';
import { type DatabaseEngine, databaseEngineOf, redactDatabaseUrl } from './url';

export { type DatabaseError, type DatabaseErrorCode, isDatabaseError } from './errors';
export type {
  DatabaseMove,
  DatabaseMoveOptions,
  PreflightLimits,
  PreflightReport,
  ReplicationKind,
  ReplicationPosition,
} from './types';
export { redactDatabaseUrl } from './url';

/**
 * How to lift a fence (`DatabaseMove.fence`) by hand on each engine, for messages that must tell an
 * operator to do it where Switchyard cannot (the source unreachable, the cutover's journal lost).
 */
export const UNFENCE_BY_HAND =
  'PostgreSQL: ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf(); MySQL/MariaDB: SET GLOBAL read_only = OFF, which ends super_read_only too';

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_QUERY_TIMEOUT_MS = 5000;

/** Loads an engine module only when asked. */
const ENGINES: Record<DatabaseEngine, () => Promise<(context: EngineContext) => Promise<DatabaseMove>>> = {
  postgres: async () => (await import('./postgres/index.js')).openPostgresMove,
  mysql: async () => (await import('./mysql/index.js')).openMysqlMove,
};

/**
 * Connects to both databases and detects how the target replicates the source. Throws
 * `SWITCHYARD_ERR_DB_URL` for bad URLs (or two different engines) and `SWITCHYARD_ERR_DB_PREFLIGHT`
 * when a server is unreachable or no replication from the source to the target is found. Changes nothing.
 */
export async function openDatabaseMove(sourceUrl: string, targetUrl: string, options: DatabaseMoveOptions = {}): Promise<DatabaseMove> {
  const open = await ENGINES[checkDatabaseUrls(sourceUrl, targetUrl)]();
  return open({
    sourceUrl,
    targetUrl,
    connectTimeoutMs: positive(options.connectTimeoutMs, 'connectTimeoutMs') ?? DEFAULT_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: positive(options.queryTimeoutMs, 'queryTimeoutMs') ?? DEFAULT_QUERY_TIMEOUT_MS,
    logger: options.logger ?? silentLogger,
  });
}

/**
 * Checks two database URLs without connecting: both parse, have a supported scheme and a host, and
 * name the same engine. Throws `SWITCHYARD_ERR_DB_URL` (message without password); returns the engine.
 */
export function checkDatabaseUrls(sourceUrl: string, targetUrl: string): 'postgres' | 'mysql' {
  const sourceEngine = databaseEngineOf(sourceUrl, 'source');
  const targetEngine = databaseEngineOf(targetUrl, 'target');
  if (sourceEngine !== targetEngine) {
    throw dbError(
      'SWITCHYARD_ERR_DB_URL',
      `database source ${redactDatabaseUrl(sourceUrl)} and target ${redactDatabaseUrl(targetUrl)} are different engines; replication joins two servers of the same kind`,
    );
  }
  return sourceEngine;
}

function positive(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) {
    throw new SwitchyardError('SWITCHYARD_ERR_INVALID_OPTION', `${name} must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}
