import { hostname } from 'node:os';
import { parseMaintenance, parseRoute, stringifyMaintenance } from '@switchyard/core';
import type { CutoverJournal, CutoverJournalEntry } from '@switchyard/core/internal';
import { describeLostState, readAgreement, waitForSameState } from '../convergence';
import { cliError } from '../errors';
import { checkHealth } from '../health-check';
import { formatDuration } from '../style';
import type { CutoverPlan } from './events';
import { readJournal } from './journal';
import { CUTOVER_DEFAULTS, type CutoverOptions, type CutoverStepOptions } from './options';
import { inProgress } from './ownership';
import { CUTOVER_STEP_DEFINITIONS } from './steps';

/** What pre-flight found: the journal to create, the plan to announce, what was checked. */
export interface Preflight {
  readonly journal: CutoverJournal;
  readonly plan: CutoverPlan;
  /** What was checked, for the step's detail. */
  readonly checks: string[];
}

/**
 * The pre-flight step up to the plan: no other cutover recorded, Redis has not lost the state the
 * front ends apply, the target differs from the route
 * and is healthy, every front end applies the state in Redis, and each step's own checks. Changes nothing.
 */
export async function checkAndPlan(
  options: CutoverOptions,
  { id, site, to, actor }: { id: string; site: string; to: string; actor: string },
): Promise<Preflight> {
  const { store } = options;
  const checks: string[] = [];
  const existing = await readJournal(store, site);
  if (existing) throw inProgress(existing);
  // An empty Redis is not what the front ends apply: the route read below would be wrong (none).
  const agreement = await readAgreement(store);
  if (agreement.lostState.length > 0) {
    throw cliError('SWITCHYARD_ERR_CUTOVER_FAILED', `${describeLostState(agreement.lostState)}, then run the cutover again`);
  }
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
  for (const step of CUTOVER_STEP_DEFINITIONS) {
    if (step.preflight) checks.push(...(await step.preflight({ options, site, to, signal: options.signal })));
  }
  const fronts = await waitForSameState(store, {
    timeoutMs: options.convergenceTimeoutMs ?? CUTOVER_DEFAULTS.convergenceTimeoutMs,
    signal: options.signal,
  });
  checks.push(fronts.fronts.length === 0 ? 'no live front end' : `${fronts.fronts.length} front end(s) converged`);
  const now = new Date().toISOString();
  const steps: Record<string, CutoverJournalEntry> = {};
  for (const step of CUTOVER_STEP_DEFINITIONS) {
    const entry = step.journalEntry?.(options);
    if (entry) steps[step.name] = entry;
  }
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
    steps,
  };
  return { journal, plan: planOf(journal, options, fronts.fronts.length, false), checks };
}

/** The steps after pre-flight that this cutover runs, in order. */
export function stepsToRun(options: CutoverStepOptions, journal: CutoverJournal) {
  return CUTOVER_STEP_DEFINITIONS.filter((step) => step.applies(options, journal));
}

/** The plan announced before anything changes (and again on resume). */
export function planOf(journal: CutoverJournal, options: CutoverStepOptions, fronts: number, resumed: boolean): CutoverPlan {
  const lines = CUTOVER_STEP_DEFINITIONS.flatMap((step) =>
    (step.planLines?.(options, journal) ?? []).map((line) => ({ step: step.name, ...line })),
  );
  const value = (label: string) => lines.find((line) => line.label === label)?.value ?? null;
  return {
    site: journal.site,
    from: journal.from,
    to: journal.to,
    maintenance: parseMaintenance(journal.maintenance),
    previousMaintenance: journal.previousMaintenance,
    steps: ['preflight', ...stepsToRun(options, journal).map((step) => step.name)],
    lines,
    sync: value('sync'),
    untilReady: value('until ready'),
    verify: value('verify'),
    fronts,
    resumed,
  };
}

function sameTarget(raw: string, target: string): boolean {
  try {
    return parseRoute(raw).target === target;
  } catch {
    return false;
  }
}
