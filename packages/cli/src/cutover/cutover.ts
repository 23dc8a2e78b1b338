import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  assertSiteName,
  DEFAULT_SITE,
  defaultActor,
  isSwitchyardError,
  type MaintenanceState,
  parseMaintenance,
  parseRoute,
  type StateKind,
  type Store,
  SwitchyardError,
  stringifyMaintenance,
} from '@switchyard/core';
import { writeRaw } from '@switchyard/core/internal';
import { waitForConvergence, waitForDrain, waitForSameState } from '../convergence';
import { describeMaintenanceValue } from '../describe';
import { type CliError, cliError } from '../errors';
import { checkHealth } from '../health-check';
import { formatDuration } from '../style';
import { CutoverError } from './cutover-error';
import type {
  CutoverCleanup,
  CutoverEvent,
  CutoverEventBody,
  CutoverEventError,
  CutoverPlan,
  CutoverReport,
  CutoverStepReport,
} from './events';
import { CUTOVER_STEPS, type CutoverJournal, type CutoverStep, createJournal, readJournal, writeJournal } from './journal';
import { type CutoverReadiness, type CutoverTask, type CutoverTaskContext, pollUntilReady, runTask } from './tasks';
import { undoCutover } from './undo';

/** Options shared by cutover, resumeCutover and abortCutover. */
export interface CutoverBaseOptions {
  /** Where the state lives; any store (Redis, or `memory://` for in-process use). */
  store: Store;
  /** Default `default`. */
  site?: string;
  /** Recorded in the history and the journal; default `user@host`. */
  actor?: string;
  /** How long each wait for the front ends to apply a change may take. Default 10 000 ms. */
  convergenceTimeoutMs?: number;
  /** Called with every progress event (plan, steps, output, clean-up, outcome). */
  onEvent?: (event: CutoverEvent) => void;
  /** Aborting interrupts the cutover: the running command is killed, then everything is put back. */
  signal?: AbortSignal;
}

/** Options of the steps that cutover and resumeCutover run. */
export interface CutoverStepOptions extends CutoverBaseOptions {
  /** Copies the data to the new server (step 3): a shell command or an async function. */
  sync?: CutoverTask;
  /** Polled after the sync until it passes (e.g. replication caught up). */
  untilReady?: CutoverReadiness;
  /** Default 300 000 ms. */
  readyTimeoutMs?: number;
  /** Default 1000 ms. */
  readyIntervalMs?: number;
  /** Checks the new target after the switch (step 5); default: a health check of it unless `skipHealthCheck`. */
  verify?: CutoverTask;
  /** Path of the health checks. Default `/`. */
  healthPath?: string;
  /** Default 5000 ms. */
  healthTimeoutMs?: number;
  /** Skip the health checks of the new target (before the cutover, and as the default verification). */
  skipHealthCheck?: boolean;
  /** How long in-flight writes may take to finish once maintenance is on. Default 30 000 ms. */
  drainTimeoutMs?: number;
}

/** Options of cutover. */
export interface CutoverOptions extends CutoverStepOptions {
  /** The new target, an absolute http(s) URL. */
  to: string;
  /** Full maintenance (every request refused) instead of read-only. */
  full?: boolean;
  /** Milliseconds a refused request may wait for the window to end, so users see a pause rather than an error. */
  hold?: number;
  /** More maintenance fields (message, retryAfter, allowIps…). */
  maintenance?: Partial<Omit<MaintenanceState, 'mode' | 'startedAt' | 'by'>>;
  /** Run the pre-flight checks and announce the plan, then stop. */
  dryRun?: boolean;
  /** Asked after the plan is announced; resolving to false cancels before anything changes. */
  confirm?: (plan: CutoverPlan) => Promise<boolean>;
}

/** What abortCutover did. */
export interface CutoverAbortReport {
  readonly cutoverId: string;
  readonly site: string;
  readonly cleanup: CutoverCleanup;
}

const DEFAULT_CONVERGENCE_TIMEOUT_MS = 10_000;

/**
 * Moves a site to a new server as one verified, resumable, reversible operation: pre-flight checks;
 * maintenance on (read-only unless `full`), applied everywhere, in-flight writes drained; sync;
 * route switched (compare-and-set) and applied everywhere; verification; maintenance restored.
 * Each step is journaled in the store and recorded in the history under one cutover id.
 * A failure or abort before the switch restores maintenance and leaves the route alone; after the
 * switch the route goes back to the old target first. Throws the pre-flight error as is (nothing
 * changed yet), or a CutoverError once something changed.
 */
export async function cutover(options: CutoverOptions): Promise<CutoverReport> {
  const site = assertSiteName(options.site ?? DEFAULT_SITE);
  const to = parseRoute(options.to).target;
  const { store } = options;
  const actor = options.actor ?? defaultActor();
  const id = `c-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const emit = emitter(options.onEvent, id, site);
  const started = performance.now();
  emit({ type: 'step-start', step: 'preflight' });
  let preflight: Preflight;
  let confirmMs = 0;
  try {
    preflight = await checkAndPlan(options, { id, site, to, actor });
    emit({ type: 'plan', plan: preflight.plan });
    if (options.dryRun) {
      // A write that changes nothing: a read-only replica refuses it just the same.
      await store.removeFront(`write-probe-${id}`);
      preflight.checks.push('Redis writable');
      const step = { step: 'preflight' as const, ms: elapsed(started), detail: preflight.checks.join('; ') };
      emit({ type: 'step-done', ...step });
      const report: CutoverReport = {
        cutoverId: id,
        site,
        from: preflight.journal.from,
        to,
        outcome: 'dry-run',
        steps: [step],
        maintenanceWindowMs: null,
        totalMs: step.ms,
      };
      emit({ type: 'done', report });
      return report;
    }
    const asked = performance.now();
    if (options.confirm && !(await options.confirm(preflight.plan))) {
      throw new SwitchyardError('SWITCHYARD_ERR_ABORTED', 'cutover cancelled; nothing was changed');
    }
    // Time spent reading the plan is not pre-flight time.
    confirmMs = elapsed(asked);
    // Someone may have started a cutover while the plan was being read: only one journal can be created.
    if (!(await createJournal(store, preflight.journal))) {
      const other = await readJournal(store, site);
      throw other
        ? inProgress(other)
        : cliError('SWITCHYARD_ERR_CUTOVER_IN_PROGRESS', `another cutover of ${site} just started and ended; run it again`);
    }
    preflight.checks.push('Redis writable');
  } catch (error) {
    emit({ type: 'step-failed', step: 'preflight', ms: elapsed(started), error: eventError(error) });
    throw error;
  }
  const step = { step: 'preflight' as const, ms: elapsed(started) - confirmMs, detail: preflight.checks.join('; ') };
  emit({ type: 'step-done', ...step });
  return new CutoverRun(options, preflight.journal, actor, emit, started, [step]).run();
}

interface Preflight {
  readonly journal: CutoverJournal;
  readonly plan: CutoverPlan;
  /** What was checked, for the step's detail. */
  readonly checks: string[];
}

/** Step 1 up to the plan: reads the state, checks the target and the front ends; changes nothing. */
async function checkAndPlan(
  options: CutoverOptions,
  { id, site, to, actor }: { id: string; site: string; to: string; actor: string },
): Promise<Preflight> {
  const { store } = options;
  const checks: string[] = [];
  const existing = await readJournal(store, site);
  if (existing) throw inProgress(existing);
  const current = await store.readKeys([store.keys.route(site), store.keys.maintenance(site)]);
  const from = current.values.get(store.keys.route(site)) ?? null;
  const previousMaintenance = current.values.get(store.keys.maintenance(site)) ?? null;
  if (from !== null && sameTarget(from, to)) {
    throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `${site} already routes to ${to}; nothing to cut over`);
  }
  if (!options.skipHealthCheck) {
    const health = await checkHealth(to, { path: options.healthPath, timeoutMs: options.healthTimeoutMs, signal: options.signal });
    checks.push(`${to} healthy (${health.status} in ${formatDuration(health.elapsedMs)})`);
  }
  const fronts = await waitForSameState(store, {
    timeoutMs: options.convergenceTimeoutMs ?? DEFAULT_CONVERGENCE_TIMEOUT_MS,
    signal: options.signal,
  });
  checks.push(fronts.fronts.length === 0 ? 'no live front end' : `${fronts.fronts.length} front end(s) converged`);
  const now = new Date().toISOString();
  const journal: CutoverJournal = {
    id,
    site,
    step: 'maintenance',
    from,
    to,
    previousMaintenance,
    maintenance: stringifyMaintenance({
      ...options.maintenance,
      ...(options.hold !== undefined ? { hold: options.hold } : {}),
      mode: options.full ? 'on' : 'read-only',
      startedAt: now,
      by: actor,
    }),
    startedAt: now,
    updatedAt: now,
    by: actor,
    host: hostname(),
    pid: process.pid,
    hasSync: Boolean(options.sync || options.untilReady),
    hasVerify: Boolean(options.verify),
  };
  return { journal, plan: planOf(journal, options, fronts.fronts.length, false), checks };
}

/**
 * Continues an interrupted cutover from its journal, re-running the step it was in (steps are
 * idempotent). A cutover with a sync or verify command must be given it again: commands are not
 * stored. Throws SWITCHYARD_ERR_CUTOVER_FAILED when there is nothing to resume.
 */
export async function resumeCutover(options: CutoverStepOptions): Promise<CutoverReport> {
  const site = assertSiteName(options.site ?? DEFAULT_SITE);
  const journal = await unfinished(options.store, site, 'resume');
  const from = CUTOVER_STEPS.indexOf(journal.step);
  if (journal.hasSync && from <= CUTOVER_STEPS.indexOf('sync') && !options.sync && !options.untilReady) {
    throw cliError(
      'SWITCHYARD_ERR_USAGE',
      `cutover ${journal.id} has not finished its sync step; pass the same --sync or --until-ready again`,
    );
  }
  if (journal.hasVerify && from <= CUTOVER_STEPS.indexOf('verify') && !options.verify) {
    throw cliError('SWITCHYARD_ERR_USAGE', `cutover ${journal.id} has not finished its verify step; pass the same --verify again`);
  }
  const actor = options.actor ?? defaultActor();
  const emit = emitter(options.onEvent, journal.id, site);
  const resumed: CutoverJournal = { ...journal, host: hostname(), pid: process.pid, updatedAt: new Date().toISOString() };
  const fronts = await options.store.listFronts();
  emit({ type: 'plan', plan: planOf(resumed, options, fronts.length, true) });
  return new CutoverRun(options, resumed, actor, emit, performance.now(), []).run();
}

/**
 * Undoes an interrupted cutover from its journal: route back to the old target if it was switched,
 * then the maintenance state it had before; the journal is removed. Throws SWITCHYARD_ERR_CUTOVER_FAILED when
 * there is nothing to abort or the clean-up could not finish (the journal is then kept).
 */
export async function abortCutover(options: CutoverBaseOptions): Promise<CutoverAbortReport> {
  const site = assertSiteName(options.site ?? DEFAULT_SITE);
  const journal = await unfinished(options.store, site, 'abort');
  const emit = emitter(options.onEvent, journal.id, site);
  const cleanup = await undoCutover(options.store, journal, {
    actor: options.actor ?? defaultActor(),
    action: 'cutover abort',
    convergenceTimeoutMs: options.convergenceTimeoutMs ?? DEFAULT_CONVERGENCE_TIMEOUT_MS,
    restoreRoute: true,
    report: (action, ok, detail) => emit({ type: 'cleanup', action, ok, detail }),
  });
  if (cleanup.journalKept) {
    throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `abort of cutover ${journal.id} incomplete: ${cleanup.problems.join('; ')}`);
  }
  return { cutoverId: journal.id, site, cleanup };
}

type Emit = (body: CutoverEventBody) => void;

/** Runs the steps after pre-flight, from the journal's step on, and cleans up when one fails. */
class CutoverRun {
  private readonly store: Store;
  private readonly steps: CutoverStepReport[];
  private readonly convergenceTimeoutMs: number;
  private maintenanceVersion = 0;
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
    this.convergenceTimeoutMs = options.convergenceTimeoutMs ?? DEFAULT_CONVERGENCE_TIMEOUT_MS;
    if (journal.maintenanceAt) this.windowStart = performance.now() - (Date.now() - Date.parse(journal.maintenanceAt));
  }

  async run(): Promise<CutoverReport> {
    const first = Math.max(CUTOVER_STEPS.indexOf(this.journal.step), CUTOVER_STEPS.indexOf('maintenance'));
    const todo = stepsToRun(this.options, this.journal).filter((step) => CUTOVER_STEPS.indexOf(step) >= first);
    let current: CutoverStep = todo[0] ?? 'restore';
    try {
      for (const step of todo) {
        current = step;
        await this.runStep(step);
      }
    } catch (error) {
      throw await this.fail(current, error);
    }
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

  private async runStep(step: CutoverStep): Promise<void> {
    this.journal = { ...this.journal, step, updatedAt: new Date().toISOString() };
    await writeJournal(this.store, this.journal.site, this.journal);
    this.emit({ type: 'step-start', step });
    const started = performance.now();
    let detail: string;
    try {
      detail = await this.perform(step);
    } catch (error) {
      this.emit({ type: 'step-failed', step, ms: elapsed(started), error: eventError(error) });
      throw error;
    }
    const ms = elapsed(started);
    this.steps.push({ step, ms, detail });
    this.emit({ type: 'step-done', step, ms, detail });
  }

  private async perform(step: CutoverStep): Promise<string> {
    const { journal, options } = this;
    const signal = options.signal;
    switch (step) {
      case 'maintenance': {
        this.windowStart ??= performance.now();
        if (!journal.maintenanceAt) {
          this.journal = { ...journal, maintenanceAt: new Date().toISOString() };
          await writeJournal(this.store, journal.site, this.journal);
        }
        this.maintenanceVersion = await this.ensure(
          'maintenance',
          journal.maintenance,
          journal.previousMaintenance,
          'cutover: maintenance on',
        );
        const applied = await this.converge(this.maintenanceVersion);
        return `${describeMaintenanceValue(journal.maintenance)}; ${applied}`;
      }
      case 'drain': {
        const minVersion = this.maintenanceVersion || (await this.store.readKeys([])).version;
        const drained = await waitForDrain(this.store, minVersion, { timeoutMs: options.drainTimeoutMs ?? 30_000, signal });
        return drained.fronts.length === 0 ? 'no live front end' : `no write in flight on ${drained.fronts.length} front end(s)`;
      }
      case 'sync': {
        const done: string[] = [];
        if (options.sync) {
          await runTask('the sync command', options.sync, this.taskContext(step), this.output(step));
          done.push(typeof options.sync === 'string' ? 'sync command succeeded' : 'synced');
        }
        if (options.untilReady) {
          const attempts = await pollUntilReady(options.untilReady, this.taskContext(step), this.output(step), {
            timeoutMs: options.readyTimeoutMs ?? 300_000,
            intervalMs: options.readyIntervalMs ?? 1000,
          });
          done.push(`ready after ${attempts} check(s)`);
        }
        return done.join('; ');
      }
      case 'switch': {
        const version = await this.ensure('route', journal.to, journal.from, 'cutover: switch');
        return `route ${journal.from ?? '(none)'} → ${journal.to}; ${await this.converge(version)}`;
      }
      case 'verify': {
        if (options.verify) {
          await runTask('the verify command', options.verify, this.taskContext(step), this.output(step));
          return 'verify command succeeded';
        }
        const health = await checkHealth(journal.to, { path: options.healthPath, timeoutMs: options.healthTimeoutMs, signal });
        return `GET ${health.url} answered ${health.status} in ${formatDuration(health.elapsedMs)}`;
      }
      case 'restore': {
        const action = journal.previousMaintenance === null ? 'cutover: maintenance off' : 'cutover: maintenance restore';
        const version = await this.ensure('maintenance', journal.previousMaintenance, journal.maintenance, action);
        const applied = await this.converge(version);
        await writeJournal(this.store, journal.site, null);
        return `maintenance ${describeMaintenanceValue(journal.previousMaintenance)}; ${applied}`;
      }
      default:
        throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `step ${step} cannot be run here`);
    }
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

  private output(step: CutoverStep) {
    return (line: string, stream: 'stdout' | 'stderr' | 'log') => this.emit({ type: 'output', step, stream, line });
  }

  private window(): number | null {
    return this.windowStart === undefined ? null : elapsed(this.windowStart);
  }

  /** Cleans up after a failed step and builds the error to throw. */
  private async fail(step: CutoverStep, cause: unknown): Promise<CutoverError> {
    const aborted = Boolean(this.options.signal?.aborted);
    // Once the restore step runs, the new target is verified: only the maintenance state is left to put back.
    const cleanup = await undoCutover(this.store, this.journal, {
      actor: this.actor,
      action: aborted ? 'cutover abort' : 'cutover rollback',
      convergenceTimeoutMs: this.convergenceTimeoutMs,
      restoreRoute: step !== 'restore',
      report: (action, ok, detail) => this.emit({ type: 'cleanup', action, ok, detail }),
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

function stepsToRun(options: CutoverStepOptions, journal: CutoverJournal): CutoverStep[] {
  return CUTOVER_STEPS.filter((step) => {
    if (step === 'preflight') return false;
    if (step === 'sync') return Boolean(options.sync || options.untilReady);
    if (step === 'verify') return Boolean(options.verify) || !options.skipHealthCheck || journal.hasVerify;
    return true;
  });
}

function planOf(journal: CutoverJournal, options: CutoverStepOptions, fronts: number, resumed: boolean): CutoverPlan {
  const describe = (task: CutoverTask | CutoverReadiness | undefined) =>
    task === undefined ? null : typeof task === 'string' ? task : 'function';
  return {
    site: journal.site,
    from: journal.from,
    to: journal.to,
    maintenance: parseMaintenance(journal.maintenance),
    previousMaintenance: journal.previousMaintenance,
    steps: ['preflight', ...stepsToRun(options, journal)],
    sync: describe(options.sync),
    untilReady: describe(options.untilReady),
    verify: options.verify
      ? describe(options.verify)
      : options.skipHealthCheck
        ? null
        : `health check GET ${journal.to}${options.healthPath ?? '/'}`,
    fronts,
    resumed,
  };
}

async function unfinished(store: Store, site: string, verb: 'resume' | 'abort'): Promise<CutoverJournal> {
  const journal = await readJournal(store, site);
  if (!journal)
    throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `there is no unfinished cutover of ${site} to ${verb}; see switchyard status`);
  if (journal.host === hostname() && journal.pid !== process.pid && isAlive(journal.pid)) {
    throw cliError(
      'SWITCHYARD_ERR_CUTOVER_IN_PROGRESS',
      `cutover ${journal.id} of ${site} is still running (pid ${journal.pid} on this host); interrupt it with Ctrl-C or kill -INT ${journal.pid} instead`,
    );
  }
  return journal;
}

function sameTarget(raw: string, target: string): boolean {
  try {
    return parseRoute(raw).target === target;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inProgress(journal: CutoverJournal): CliError {
  return cliError(
    'SWITCHYARD_ERR_CUTOVER_IN_PROGRESS',
    `cutover ${journal.id} of ${journal.site} (to ${journal.to}, at step ${journal.step}, started ${journal.startedAt} by ${journal.by}) is unfinished; finish it with switchyard cutover --resume or undo it with switchyard cutover --abort${journal.site === DEFAULT_SITE ? '' : ` --site ${journal.site}`}`,
  );
}

function emitter(onEvent: ((event: CutoverEvent) => void) | undefined, cutoverId: string, site: string): Emit {
  return (body) => {
    try {
      onEvent?.({ cutoverId, site, time: new Date().toISOString(), ...body } as CutoverEvent);
    } catch {
      // A broken progress display must not break the cutover.
    }
  };
}

function eventError(error: unknown): CutoverEventError {
  return isSwitchyardError(error)
    ? { code: error.code, message: error.message }
    : { code: 'ERR_UNEXPECTED', message: (error as Error)?.message ?? String(error) };
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
