/** Machine-readable codes carried by every error Switchyard throws. */
export type SwitchyardErrorCode =
  | 'SWITCHYARD_ERR_INVALID_ROUTE'
  | 'SWITCHYARD_ERR_INVALID_MAINTENANCE'
  | 'SWITCHYARD_ERR_INVALID_SITE'
  | 'SWITCHYARD_ERR_INVALID_STORE_URL'
  | 'SWITCHYARD_ERR_INVALID_OPTION'
  | 'SWITCHYARD_ERR_CONFLICT'
  | 'SWITCHYARD_ERR_STORE_UNAVAILABLE'
  | 'SWITCHYARD_ERR_STORE_CLOSED'
  | 'SWITCHYARD_ERR_USAGE'
  | 'SWITCHYARD_ERR_NO_SITE'
  | 'SWITCHYARD_ERR_HEALTH_CHECK_FAILED'
  | 'SWITCHYARD_ERR_CONVERGENCE_TIMEOUT'
  | 'SWITCHYARD_ERR_DRAIN_TIMEOUT'
  | 'SWITCHYARD_ERR_CUTOVER_FAILED'
  | 'SWITCHYARD_ERR_CUTOVER_IN_PROGRESS'
  | 'SWITCHYARD_ERR_ABORTED'
  | 'SWITCHYARD_ERR_UPSTREAM_TIMEOUT';

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
      'SWITCHYARD_ERR_CONFLICT',
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
