import { SwitchyardError } from '@switchyard/core';
import type { CliErrorCode } from '../errors';
import type { CutoverCleanup, CutoverStepReport } from './events';
import type { CutoverStep } from './steps';

/**
 * A cutover failed (SWITCHYARD_ERR_CUTOVER_FAILED) or was interrupted (SWITCHYARD_ERR_ABORTED) after it started changing
 * things; the message says at which step, why, and what the clean-up restored.
 */
export class CutoverError extends SwitchyardError<CliErrorCode> {
  readonly cutoverId: string;
  readonly step: CutoverStep;
  readonly cleanup: CutoverCleanup;
  /** The steps that finished before the failure. */
  readonly steps: readonly CutoverStepReport[];
  readonly maintenanceWindowMs: number | null;

  constructor(details: {
    aborted: boolean;
    cutoverId: string;
    site: string;
    step: CutoverStep;
    cause: unknown;
    cleanup: CutoverCleanup;
    steps: readonly CutoverStepReport[];
    maintenanceWindowMs: number | null;
    restoredSummary: string;
  }) {
    const why = (details.cause as Error)?.message ?? String(details.cause);
    super(
      details.aborted ? 'SWITCHYARD_ERR_ABORTED' : 'SWITCHYARD_ERR_CUTOVER_FAILED',
      `cutover of ${details.site} ${details.aborted ? 'interrupted' : 'failed'} at ${details.step}: ${why}; ${details.restoredSummary}`,
      { cause: details.cause },
    );
    this.name = 'CutoverError';
    this.cutoverId = details.cutoverId;
    this.step = details.step;
    this.cleanup = details.cleanup;
    this.steps = details.steps;
    this.maintenanceWindowMs = details.maintenanceWindowMs;
  }
}
