import { SwitchyardError } from '@switchyard/core';

/**
 * Codes of the errors `@switchyard/db` throws:
 * - `SWITCHYARD_ERR_DB_URL`: a database URL is malformed, of an unsupported scheme, or the two URLs name different engines.
 * - `SWITCHYARD_ERR_DB_PREFLIGHT`: a guardrail refused the move (no or broken replication, wrong target, lag or old
 *   transactions over the limit, server unreachable); nothing was changed.
 * - `SWITCHYARD_ERR_DB_TIMEOUT`: a query, the catch-up wait or the promotion passed its deadline.
 * - `SWITCHYARD_ERR_DB_FAILED`: a step failed for another reason (the server said no).
 */
export type DatabaseErrorCode =
  | 'SWITCHYARD_ERR_DB_URL'
  | 'SWITCHYARD_ERR_DB_PREFLIGHT'
  | 'SWITCHYARD_ERR_DB_TIMEOUT'
  | 'SWITCHYARD_ERR_DB_FAILED';

/** An error of the database mover, with a stable code. */
export type DatabaseError = SwitchyardError<DatabaseErrorCode>;

/** Creates a database-mover error. Messages must never contain a password: pass URLs through `redactDatabaseUrl`. */
export function dbError(code: DatabaseErrorCode, message: string, options?: { cause?: unknown }): DatabaseError {
  return new SwitchyardError<DatabaseErrorCode>(code, message, options);
}

/** True when `error` is a database-mover error, optionally with the given code. */
export function isDatabaseError(error: unknown, code?: DatabaseErrorCode): error is DatabaseError {
  return error instanceof SwitchyardError && (code === undefined ? error.code.startsWith('SWITCHYARD_ERR_DB_') : error.code === code);
}
