import type { MaintenanceState, SwitchyardErrorCode } from '@switchyard/core';
import type { CutoverStep } from './steps';

/** What a cutover is about to do, announced before anything changes. */
export interface CutoverPlan {
  readonly site: string;
  readonly from: string | null;
  readonly to: string;
  /** The maintenance state held during the window. */
  readonly maintenance: MaintenanceState;
  /** The maintenance value restored at the end (null: off). */
  readonly previousMaintenance: string | null;
  /** The steps that will run, in order. */
  readonly steps: readonly CutoverStep[];
  /** The steps' own rows of the plan (sync command, verification, …), in step order. */
  readonly lines: readonly CutoverPlanLine[];
  /** How the data is brought over: the sync command, `function`, or null. */
  readonly sync: string | null;
  /** The readiness check polled after the sync: a command, `function`, or null. */
  readonly untilReady: string | null;
  /** How the new target is verified after the switch. */
  readonly verify: string | null;
  /** Live front ends when the plan was made (all applying the state in Redis). */
  readonly fronts: number;
  /** True when this continues an interrupted cutover. */
  readonly resumed: boolean;
}

/** One row of the plan, given by a step: `sync  ./copy-db.sh`. */
export interface CutoverPlanLine {
  readonly step: CutoverStep;
  readonly label: string;
  /** Null prints as `none`. */
  readonly value: string | null;
}

/** A finished step. */
export interface CutoverStepReport {
  readonly step: CutoverStep;
  readonly ms: number;
  /** What the step found or did, one line. */
  readonly detail: string;
  /** Times of the step's parts, when it reports them (the database step: `catch-up`, `promote`…). */
  readonly substeps?: readonly CutoverSubstepReport[];
}

/** The time of one part of a step. */
export interface CutoverSubstepReport {
  readonly name: string;
  readonly ms: number;
}

/** What a successful (or dry-run) cutover did. */
export interface CutoverReport {
  readonly cutoverId: string;
  readonly site: string;
  readonly from: string | null;
  readonly to: string;
  readonly outcome: 'done' | 'dry-run';
  readonly steps: readonly CutoverStepReport[];
  /** From maintenance on to maintenance restored and applied everywhere; null for a dry run. */
  readonly maintenanceWindowMs: number | null;
  readonly totalMs: number;
}

/** What the clean-up after a failure (or `--abort`) did. */
export interface CutoverCleanup {
  /** The route was put back to the old target (false: it had not been switched, or could not be). */
  readonly routeRestored: boolean;
  /** The maintenance state is back to what it was before the cutover. */
  readonly maintenanceRestored: boolean;
  /** The journal is still in Redis: run `switchyard cutover --abort` (or `--resume`) once the problem is fixed. */
  readonly journalKept: boolean;
  /** What could not be done, one line each. */
  readonly problems: readonly string[];
  /** One phrase for messages: `maintenance restored (off), route untouched (http://10.0.0.1:3000)`. */
  readonly summary: string;
}

/**
 * What a clean-up event is about: `state` (the state front ends kept through a Redis that lost it,
 * written back), a state kind put back, the journal, or another step's own undo (its name).
 */
export type CutoverCleanupAction = 'state' | 'route' | 'maintenance' | 'journal' | (string & {});

/** An error as it appears in events. */
export interface CutoverEventError {
  readonly code: SwitchyardErrorCode | 'ERR_UNEXPECTED';
  readonly message: string;
}

interface EventBase {
  readonly cutoverId: string;
  readonly site: string;
  /** ISO time of the event. */
  readonly time: string;
}

/** Progress of a cutover, as given to `onEvent` and printed one per line by `--json`. */
export type CutoverEvent = EventBase &
  (
    | { readonly type: 'plan'; readonly plan: CutoverPlan }
    | { readonly type: 'step-start'; readonly step: CutoverStep }
    | ({ readonly type: 'step-done' } & CutoverStepReport)
    | { readonly type: 'step-failed'; readonly step: CutoverStep; readonly ms: number; readonly error: CutoverEventError }
    | { readonly type: 'output'; readonly step: CutoverStep; readonly stream: 'stdout' | 'stderr' | 'log'; readonly line: string }
    | { readonly type: 'cleanup'; readonly action: CutoverCleanupAction; readonly ok: boolean; readonly detail: string }
    | { readonly type: 'done'; readonly report: CutoverReport }
    | {
        readonly type: 'failed';
        readonly step: CutoverStep;
        readonly error: CutoverEventError;
        readonly cleanup: CutoverCleanup;
        readonly maintenanceWindowMs: number | null;
      }
  );

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event without the fields its emitter fills in. */
export type CutoverEventBody = DistributiveOmit<CutoverEvent, keyof EventBase>;
