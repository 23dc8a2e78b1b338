import { SwitchyardError, type SwitchyardErrorCode } from '@switchyard/core';

/**
 * Codes of the errors the CLI and the cutover throw: the libraries' codes plus the CLI's own. They
 * live here, not in core, because only the CLI can fail this way.
 */
export type CliErrorCode =
  | SwitchyardErrorCode
  | 'SWITCHYARD_ERR_USAGE'
  | 'SWITCHYARD_ERR_NO_SITE'
  | 'SWITCHYARD_ERR_HEALTH_CHECK_FAILED'
  | 'SWITCHYARD_ERR_CONVERGENCE_TIMEOUT'
  | 'SWITCHYARD_ERR_INVALID_STORED_STATE'
  | 'SWITCHYARD_ERR_KEPT_STATES_DIFFER'
  | 'SWITCHYARD_ERR_KEPT_STATE_UNCONFIRMED'
  | 'SWITCHYARD_ERR_DRAIN_TIMEOUT'
  | 'SWITCHYARD_ERR_CUTOVER_FAILED'
  | 'SWITCHYARD_ERR_CUTOVER_IN_PROGRESS'
  | 'SWITCHYARD_ERR_DATABASE_PROMOTED';

/** An error of the CLI or the cutover, with a stable code. */
export type CliError = SwitchyardError<CliErrorCode>;

/** Creates a CLI error. */
export function cliError(code: CliErrorCode, message: string, options?: { cause?: unknown }): CliError {
  return new SwitchyardError<CliErrorCode>(code, message, options);
}
