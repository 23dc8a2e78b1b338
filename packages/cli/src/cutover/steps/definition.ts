import type { StateKind, Store } from '@switchyard/core';
import type { CutoverJournal, CutoverJournalEntry } from '@switchyard/core/internal';
import type { PutBackOutcome } from '../../rollback';
import type { CutoverPlanLine } from '../events';
import type { CutoverDatabaseOptions, CutoverOptions, CutoverStepOptions } from '../options';
import type { CommandTracker, CutoverTaskContext, TaskOutput } from '../tasks';

/**
 * One step of a cutover, defined in one place: its name (in the journal, the plan, the events and
 * the history), when it applies, how it runs, how it is undone, what it journals and what it adds
 * to the plan. The runner (`runner.ts`) knows no step by name; `steps/index.ts` lists them in order.
 */
export interface CutoverStepDefinition<Name extends string = string> {
  readonly name: Name;
  /** What this step's clean-up events and summary phrases are about (`route`, `maintenance`); default its name. */
  readonly cleanupAction?: string;
  /** Whether this cutover runs the step, from its options (and, on resume, its journal). */
  applies(options: CutoverStepOptions, journal: CutoverJournal): boolean;
  /** Checks made in pre-flight, before anything changes; throw to refuse. Resolves to lines for the step's detail. */
  preflight?(context: CutoverPreflightContext): Promise<readonly string[]>;
  /** This step's entry in a new journal (e.g. that resume must be given its command again). */
  journalEntry?(options: CutoverOptions): CutoverJournalEntry | undefined;
  /** Rows of the plan (shown whether or not the step applies, e.g. `verify: none`). */
  planLines?(options: CutoverStepOptions, journal: CutoverJournal): readonly Omit<CutoverPlanLine, 'step'>[];
  /** On resume, before this step has finished: what is missing from the options, as a usage message. */
  missingOnResume?(options: CutoverStepOptions, journal: CutoverJournal): string | undefined;
  /** Runs the step (again, on resume: steps are idempotent). Resolves to one line saying what it did. */
  run(context: CutoverStepContext): Promise<string>;
  /**
   * Puts back what the step changed; run in reverse step order after a failure, an interruption or
   * `--abort`, for every step (reached or not: an undo checks the state itself). Never throws.
   */
  undo?(context: CutoverUndoContext): Promise<CutoverUndoOutcome>;
  /**
   * Whether the cutover can no longer be undone automatically because of what this step did (the
   * database was promoted): a reason, and then the clean-up after a failure changes nothing and keeps
   * the journal. Asked before any undo runs; may release what the step kept open.
   */
  pinned?(context: CutoverPinContext): Promise<string | undefined>;
  /** Releases what the step kept open for a possible undo, once the cutover is done. Never throws. */
  finish?(journal: CutoverJournal): Promise<void>;
}

/** What a step's `pinned` is given. */
export interface CutoverPinContext {
  readonly store: Store;
  readonly journal: CutoverJournal;
  /** This step's journal entry, if it recorded one. */
  readonly entry: CutoverJournalEntry | undefined;
  /** `cutover --abort`: the operator asks to go back regardless. */
  readonly wholeCutover: boolean;
}

/** What a step's pre-flight check is given. */
export interface CutoverPreflightContext {
  readonly options: CutoverOptions;
  readonly site: string;
  /** The new target, normalized. */
  readonly to: string;
  readonly signal: AbortSignal | undefined;
}

/** What a running step is given by the runner. */
export interface CutoverStepContext {
  readonly store: Store;
  readonly options: CutoverStepOptions;
  /** The journal as it is now. */
  readonly journal: CutoverJournal;
  /** This step's journal entry (from an earlier attempt, on resume). */
  readonly entry: CutoverJournalEntry | undefined;
  readonly signal: AbortSignal | undefined;
  /** Replaces this step's journal entry and writes the journal, e.g. to remember what to undo. */
  record(entry: CutoverJournalEntry): Promise<void>;
  /** The maintenance window starts now (first call only; journaled so a resumed cutover measures it whole). */
  openWindow(): Promise<void>;
  /** Writes `value` unless it is already there (a resumed step), compare-and-set against `expected`; the state version after. */
  ensure(kind: StateKind, value: string | null, expected: string | null, action: string): Promise<number>;
  /** Waits until every live front end applies `version`; one line saying how that went. */
  converge(version: number): Promise<string>;
  /** What a sync/verify task is given. */
  task(): CutoverTaskContext;
  /** Journals the process group of each shell command the step runs, while it runs. */
  readonly commands: CommandTracker;
  /** Where a task's output lines go (the progress display). */
  readonly output: TaskOutput;
  /** Reports the time of a part of the step (e.g. `catch-up`), shown in the step list and the `step-done` event. */
  substep(name: string, ms: number): void;
}

/** What a step's undo is given. */
export interface CutoverUndoContext {
  readonly store: Store;
  readonly journal: CutoverJournal;
  /** This step's journal entry, if it recorded one. */
  readonly entry: CutoverJournalEntry | undefined;
  /** The step that failed, or was running when the process died. */
  readonly failedStep: string;
  /** `cutover --abort`: undo everything, even steps that finished and were verified. */
  readonly wholeCutover: boolean;
  /** Puts one value back (compare-and-set against `expected`), recorded in the history, and waits for the front ends. */
  putBack(kind: StateKind, change: { value: string | null; expected: string | null }): Promise<PutBackOutcome>;
  /** Tells the progress display about a clean-up action as it happens. */
  report(ok: boolean, detail: string): void;
  /** The database URLs given to this run, if any (never journaled): for an undo that must reconnect. */
  readonly db?: CutoverDatabaseOptions;
}

/** What a step's undo did. */
export interface CutoverUndoOutcome {
  /** It put something back (or found it already back). */
  readonly restored: boolean;
  /** One phrase for the summary, e.g. `route untouched (http://…)`; empty when the step had nothing to undo in this cutover. */
  readonly summary: string;
  /** What went wrong without stopping the clean-up (e.g. someone else changed the value). */
  readonly problem?: string;
  /** The undo could not finish: later undos are skipped (the site stays in maintenance) and the journal is kept. */
  readonly blocked?: boolean;
}
