import { databaseStep } from './database';
import { drainStep } from './drain';
import { maintenanceStep } from './maintenance';
import { restoreStep } from './restore';
import { switchStep } from './switch';
import { syncStep } from './sync';
import { verifyStep } from './verify';

export type {
  CutoverPinContext,
  CutoverPreflightContext,
  CutoverStepContext,
  CutoverStepDefinition,
  CutoverUndoContext,
  CutoverUndoOutcome,
} from './definition';

/**
 * The steps after pre-flight, in the order they run; clean-up undoes them in reverse. Adding a
 * step is adding its definition here (its position decides when it runs and when it is undone).
 */
export const CUTOVER_STEP_DEFINITIONS = [maintenanceStep, drainStep, syncStep, databaseStep, switchStep, verifyStep, restoreStep] as const;

/** One step of a cutover: `preflight` (run by `preflight.ts`, nothing to undo) or a defined step. */
export type CutoverStep = 'preflight' | (typeof CUTOVER_STEP_DEFINITIONS)[number]['name'];

/** The steps of a cutover, in order. */
export const CUTOVER_STEPS: readonly CutoverStep[] = ['preflight', ...CUTOVER_STEP_DEFINITIONS.map((step) => step.name)];
