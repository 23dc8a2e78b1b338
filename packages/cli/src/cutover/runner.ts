import { isSwitchyardError, type StateKind, type Store } from '@switchyard/core';
import { type CutoverJournal, type CutoverJournalEntry, writeRaw } from '@switchyard/core/internal';
import { waitForConvergence } from '../convergence';
import { type ProcessGroupRecord, processGroupRecord } from '../shell-command';
import { formatDuration } from '../style';
import { CutoverError } from './cutover-error';
import type { CutoverEvent, CutoverEventBody, CutoverEventError, CutoverReport, CutoverStepReport, CutoverSubstepReport } from './events';
import { writeJournal } from './journal';
import { CUTOVER_DEFAULTS, type CutoverStepOptions } from './options';
import { stepsToRun } from './preflight';
import { CUTOVER_STEPS, type CutoverStep, type CutoverStepContext, type CutoverStepDefinition } from './steps';
import type { CommandTracker, CutoverTaskContext } from './tasks';
import { undoCutover } from './undo';

/** Sends one progress event, filling in the cutover id, site and time. */
export type Emit = (body: CutoverEventBody) => void;

/**
 * Runs the steps after pre-flight, from the journal's step on, journaling each before it starts;
 * when one fails (or the signal aborts), undoes the cutover and throws a CutoverError. Knows no
 * step by name: what each does is in `steps/`.
 */
export class CutoverRun {
  private readonly store: Store;
  private readonly steps: CutoverStepReport[];
  private readonly convergenceTimeoutMs: number;
  private windowStart: number | undefined;

  constructor(
    private readonly options: CutoverStepOptions,
    private journal: CutoverJournal,
    private readonly actor: string,
    private readonly emit: Emit,
    private readonly started: number,
    steps: CutoverStepReport[],
  ) {
    this.store = options.store;
    this.steps = steps;
    this.convergenceTimeoutMs = options.convergenceTimeoutMs ?? CUTOVER_DEFAULTS.convergenceTimeoutMs;
    if (journal.maintenanceAt) this.windowStart = performance.now() - (Date.now() - Date.parse(journal.maintenanceAt));
  }

  async run(): Promise<CutoverReport> {
    const first = stepIndex(this.journal.step);
    const todo = stepsToRun(this.options, this.journal).filter((step) => stepIndex(step.name) >= first);
    let current: CutoverStep = todo[0]?.name ?? 'restore';
    try {
      for (const step of todo) {
        current = step.name;
        await this.runStep(step);
      }
      // The cutover is over: nothing left to resume or undo.
      await writeJournal(this.store, this.journal.site, null);
    } catch (error) {
      throw await this.fail(current, error);
    }
    for (const step of todo) await step.finish?.(this.journal);
    const report: CutoverReport = {
      cutoverId: this.journal.id,
      site: this.journal.site,
      from: this.journal.from,
      to: this.journal.to,
      outcome: 'done',
      steps: this.steps,
      maintenanceWindowMs: this.window(),
      totalMs: elapsed(this.started),
    };
    this.emit({ type: 'done', report });
    return report;
  }

  private async runStep(step: CutoverStepDefinition<CutoverStep>): Promise<void> {
    // Every step that started has an entry, so a clean-up knows which steps may have changed something.
    const steps = { ...this.journal.steps, [step.name]: this.journal.steps[step.name] ?? {} };
    await this.saveJournal({ ...this.journal, step: step.name, steps });
    this.emit({ type: 'step-start', step: step.name });
    const started = performance.now();
    const substeps: CutoverSubstepReport[] = [];
    let detail: string;
    try {
      detail = await step.run(this.context(step.name, substeps));
    } catch (error) {
      this.emit({ type: 'step-failed', step: step.name, ms: elapsed(started), error: eventError(error) });
      throw error;
    }
    const report: CutoverStepReport = { step: step.name, ms: elapsed(started), detail, ...(substeps.length > 0 ? { substeps } : {}) };
    this.steps.push(report);
    this.emit({ type: 'step-done', ...report });
  }

  private context(step: CutoverStep, substeps: CutoverSubstepReport[]): CutoverStepContext {
    const run = this;
    const { options } = this;
    return {
      store: this.store,
      options,
      get journal() {
        return run.journal;
      },
      get entry() {
        return run.journal.steps[step];
      },
      signal: options.signal,
      output: (line, stream) => this.emit({ type: 'output', step, stream, line }),
      record: (entry: CutoverJournalEntry) => run.saveJournal({ ...run.journal, steps: { ...run.journal.steps, [step]: entry } }),
      async openWindow() {
        run.windowStart ??= performance.now();
        if (!run.journal.maintenanceAt) await run.saveJournal({ ...run.journal, maintenanceAt: new Date().toISOString() });
      },
      ensure: (kind, value, expected, action) => this.ensure(kind, value, expected, action),
      converge: (version) => this.converge(version),
      task: () => this.taskContext(step),
      commands: this.commandTracker(step),
      substep: (name, ms) => substeps.push({ name, ms }),
    };
  }

  /** Keeps the running command's process group in the step's journal entry (`pgid`, `pgidStart`) while it runs. */
  private commandTracker(step: CutoverStep): CommandTracker {
    let saved: Promise<void> = Promise.resolve();
    const save = (group: ProcessGroupRecord | undefined) => {
      const { pgid: _pgid, pgidStart: _start, ...entry } = this.journal.steps[step] ?? {};
      const next = group ? { ...entry, pgid: group.pgid, ...(group.startTime ? { pgidStart: group.startTime } : {}) } : entry;
      return this.saveJournal({ ...this.journal, steps: { ...this.journal.steps, [step]: next } });
    };
    return {
      started: (pid) => {
        saved = save(processGroupRecord(pid));
      },
      ended: async () => {
        // Best effort: a journal that still names a finished command only makes a resume find it gone.
        await saved.catch(() => undefined);
        await save(undefined).catch(() => undefined);
      },
    };
  }

  private async saveJournal(journal: CutoverJournal): Promise<void> {
    this.journal = { ...journal, updatedAt: new Date().toISOString() };
    await writeJournal(this.store, this.journal.site, this.journal);
  }

  /** Writes `value` unless it is already there (a resumed step), compare-and-set against `expected`. */
  private async ensure(kind: StateKind, value: string | null, expected: string | null, action: string): Promise<number> {
    const key = this.store.keys.state(kind, this.journal.site);
    const read = await this.store.readKeys([key]);
    if ((read.values.get(key) ?? null) === value) return read.version;
    const result = await writeRaw(this.store, kind, this.journal.site, value, {
      expect: expected,
      actor: this.actor,
      action,
      cutoverId: this.journal.id,
    });
    return result.version;
  }

  private async converge(version: number): Promise<string> {
    const result = await waitForConvergence(this.store, version, { timeoutMs: this.convergenceTimeoutMs, signal: this.options.signal });
    return result.fronts.length === 0
      ? 'no live front end to wait for'
      : `${result.fronts.length} front end(s) applied it in ${formatDuration(result.elapsedMs)}`;
  }

  private taskContext(step: CutoverStep): CutoverTaskContext {
    const { journal } = this;
    return {
      signal: this.options.signal ?? new AbortController().signal,
      cutoverId: journal.id,
      site: journal.site,
      from: journal.from,
      to: journal.to,
      log: (line) => this.emit({ type: 'output', step, stream: 'log', line }),
    };
  }

  private window(): number | null {
    return this.windowStart === undefined ? null : elapsed(this.windowStart);
  }

  /** Cleans up after a failed step and builds the error to throw. */
  private async fail(step: CutoverStep, cause: unknown): Promise<CutoverError> {
    const aborted = Boolean(this.options.signal?.aborted);
    const cleanup = await undoCutover(this.store, this.journal, {
      actor: this.actor,
      action: aborted ? 'cutover abort' : 'cutover rollback',
      convergenceTimeoutMs: this.convergenceTimeoutMs,
      failedStep: step,
      wholeCutover: false,
      report: (action, ok, detail) => this.emit({ type: 'cleanup', action, ok, detail }),
      db: this.options.db,
    });
    const error = new CutoverError({
      aborted,
      cutoverId: this.journal.id,
      site: this.journal.site,
      step,
      cause,
      cleanup,
      steps: this.steps,
      maintenanceWindowMs: this.window(),
      restoredSummary: cleanup.summary,
    });
    this.emit({ type: 'failed', step, error: eventError(error), cleanup, maintenanceWindowMs: error.maintenanceWindowMs });
    return error;
  }
}

/** Position of a step in the cutover (pre-flight first). */
export function stepIndex(step: string): number {
  return (CUTOVER_STEPS as readonly string[]).indexOf(step);
}

/** The emit function of one cutover: a broken progress display must not break the cutover. */
export function emitter(onEvent: ((event: CutoverEvent) => void) | undefined, cutoverId: string, site: string): Emit {
  return (body) => {
    try {
      onEvent?.({ cutoverId, site, time: new Date().toISOString(), ...body } as CutoverEvent);
    } catch {
      // A broken progress display must not break the cutover.
    }
  };
}

/** An error as events carry it. */
export function eventError(error: unknown): CutoverEventError {
  return isSwitchyardError(error)
    ? { code: error.code, message: error.message }
    : { code: 'ERR_UNEXPECTED', message: (error as Error)?.message ?? String(error) };
}

/** Whole milliseconds since `since` (a `performance.now()` reading). */
export function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
