/** Machine-readable codes carried by every error Switchyard throws. */
export type SwitchyardErrorCode =
  | 'ERR_INVALID_ROUTE'
  | 'ERR_INVALID_MAINTENANCE'
  | 'ERR_INVALID_SITE'
  | 'ERR_INVALID_STORE_URL'
  | 'ERR_INVALID_OPTION'
  | 'ERR_CONFLICT'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_STORE_CLOSED'
  | 'ERR_USAGE'
  | 'ERR_NO_SITE'
  | 'ERR_HEALTH_CHECK_FAILED'
  | 'ERR_CONVERGENCE_TIMEOUT'
  | 'ERR_DRAIN_TIMEOUT'
  | 'ERR_CUTOVER_FAILED'
  | 'ERR_CUTOVER_IN_PROGRESS'
  | 'ERR_ABORTED'
  | 'ERR_UPSTREAM_TIMEOUT';

/** Base class of every error Switchyard throws; `code` is stable, `message` says what to do. */
export class SwitchyardError extends Error {
  /** Stable identifier of the failure, for programs to branch on. */
  readonly code: SwitchyardErrorCode;

  constructor(code: SwitchyardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SwitchyardError';
    this.code = code;
  }
}

/** A compare-and-set write found a different value than the one it expected. */
export class ConflictError extends SwitchyardError {
  /** The value the store held when the write was refused (`null` when absent). */
  readonly current: string | null;

  constructor(key: string, current: string | null) {
    super(
      'ERR_CONFLICT',
      `${key} was changed by someone else (now ${current === null ? 'absent' : JSON.stringify(current)}); read it again and retry`,
    );
    this.name = 'ConflictError';
    this.current = current;
  }
}

/** True when `error` is a SwitchyardError, optionally with the given code. */
export function isSwitchyardError(error: unknown, code?: SwitchyardErrorCode): error is SwitchyardError {
  return error instanceof SwitchyardError && (code === undefined || error.code === code);
}
