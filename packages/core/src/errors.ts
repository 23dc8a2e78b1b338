/**
 * Machine-readable codes of the errors the libraries throw. Prefixed so they never collide with
 * Node's own `ERR_*` codes. The CLI adds its own (`CliErrorCode` in `@switchyard/cli`).
 */
export type SwitchyardErrorCode =
  | 'SWITCHYARD_ERR_INVALID_ROUTE'
  | 'SWITCHYARD_ERR_INVALID_MAINTENANCE'
  | 'SWITCHYARD_ERR_INVALID_SITE'
  | 'SWITCHYARD_ERR_INVALID_STORE_URL'
  | 'SWITCHYARD_ERR_INVALID_OPTION'
  | 'SWITCHYARD_ERR_CONFLICT'
  | 'SWITCHYARD_ERR_STORE_UNAVAILABLE'
  | 'SWITCHYARD_ERR_STORE_CLOSED'
  | 'SWITCHYARD_ERR_ABORTED'
  | 'SWITCHYARD_ERR_UPSTREAM_TIMEOUT'
  | 'SWITCHYARD_ERR_UPSTREAM_PROTOCOL'
  | 'SWITCHYARD_ERR_UPSTREAM_CLOSED'
  | 'SWITCHYARD_ERR_NO_ROUTE';

/**
 * Base class of every error Switchyard throws; `code` is stable, `message` says what to do. `Code`
 * lets a package with codes of its own (the CLI) reuse the class with its own code union.
 */
export class SwitchyardError<Code extends string = SwitchyardErrorCode> extends Error {
  /** Stable identifier of the failure, for programs to branch on. */
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
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
export function isSwitchyardError<Code extends string = SwitchyardErrorCode>(error: unknown, code?: Code): error is SwitchyardError<Code> {
  return error instanceof SwitchyardError && (code === undefined || error.code === code);
}
