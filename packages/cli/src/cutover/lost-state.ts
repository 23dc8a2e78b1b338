import {
  ConflictError,
  DEFAULT_SITE,
  type FrontEndReport,
  isSwitchyardError,
  type KeptState,
  restoreKeptState,
  type Store,
} from '@switchyard/core';
import { waitForConvergence } from '../convergence';
import { describeMaintenanceValue } from '../describe';
import { type CliError, cliError } from '../errors';
import { sleep } from '../sleep';
import type { CutoverUndoOutcome } from './steps';

/**
 * The state front ends keep through a Redis that came back empty (their heartbeat's `kept`), the
 * newest if they differ; undefined when no front end reports lost state.
 */
export function keptByFronts(fronts: readonly FrontEndReport[]): KeptState | undefined {
  let newest: KeptState | undefined;
  for (const front of fronts) {
    if (front.lostState && front.kept && (!newest || front.kept.version > newest.version)) newest = front.kept;
  }
  return newest;
}

/**
 * First act of a clean-up: when Redis lost its state (restarted empty) while the front ends keep
 * the cutover's maintenance, undoing against the empty Redis would find everything "as before" and
 * leave every front end refusing writes. So the state they keep is written back first
 * (`restoreKeptState`: compare-and-set against what is in Redis now, version above theirs), and the
 * step undos then act on what the front ends really apply. Undefined when nothing was lost.
 */
export async function writeBackKeptState(
  store: Store,
  options: { readonly actor: string; readonly convergenceTimeoutMs: number; readonly report: (ok: boolean, detail: string) => void },
): Promise<CutoverUndoOutcome | undefined> {
  const fronts = await listFrontsOnceReachable(store, options.convergenceTimeoutMs);
  const kept = keptByFronts(fronts);
  if (!kept) {
    if (!fronts.some((front) => front.lostState)) return undefined;
    const problem = 'front ends keep state Redis lost but do not report it (older front ends); restart them or write the state by hand';
    options.report(false, problem);
    return { restored: false, summary: 'state Redis lost not written back', problem, blocked: true };
  }
  const keys = Object.keys(kept.values);
  const read = await store.readKeys(keys);
  const seen = Object.fromEntries(keys.map((key) => [key, read.values.get(key) ?? null]));
  let version: number;
  try {
    const results = await restoreKeptState(store, kept, { actor: options.actor, seen });
    version = Math.max(read.version, ...results.map((result) => result.version));
  } catch (error) {
    // Someone restored (or wrote) it first: the undos compare-and-set against whatever is there now.
    if (error instanceof ConflictError) return { restored: false, summary: 'state Redis lost written back by someone else' };
    throw error;
  }
  const summary = `state the front ends kept written back (version ${kept.version})`;
  options.report(true, `Redis had lost its state: ${summary}`);
  try {
    await waitForConvergence(store, version, { timeoutMs: options.convergenceTimeoutMs });
  } catch (error) {
    options.report(false, (error as Error).message);
    return { restored: true, summary, problem: (error as Error).message };
  }
  return { restored: true, summary };
}

/**
 * The heartbeats, retried while Redis is unreachable for up to `timeoutMs`: a clean-up that starts
 * during a Redis restart should wait the second it takes to come back rather than give up and leave
 * the site in maintenance. Each attempt has the store's own command deadline.
 */
async function listFrontsOnceReachable(store: Store, timeoutMs: number): Promise<FrontEndReport[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await store.listFronts();
    } catch (error) {
      if (!isSwitchyardError(error, 'SWITCHYARD_ERR_STORE_UNAVAILABLE') || performance.now() >= deadline) throw error;
      await sleep(100);
    }
  }
}

/**
 * Why `--resume`/`--abort` find no journal when Redis lost it with the rest of its state, and
 * exactly what to run instead; undefined when no front end reports lost state.
 */
export async function lostJournalError(store: Store, site: string, verb: 'resume' | 'abort'): Promise<CliError | undefined> {
  const fronts = await store.listFronts();
  const kept = keptByFronts(fronts);
  if (!kept && !fronts.some((front) => front.lostState)) return undefined;
  const siteOption = site === DEFAULT_SITE ? '' : ` --site ${site}`;
  const maintenance = kept?.values[store.keys.maintenance(site)] ?? null;
  const route = kept?.values[store.keys.route(site)] ?? null;
  const keeping = kept
    ? `; the front ends keep version ${kept.version}: route ${route ?? '(none)'}, maintenance ${describeMaintenanceValue(maintenance)}`
    : '';
  const steps = ['switchyard restore', ...(maintenance !== null ? [`switchyard maintenance off${siteOption}`] : [])];
  return cliError(
    'SWITCHYARD_ERR_CUTOVER_FAILED',
    `Redis lost its state, and with it the journal of the cutover of ${site}, which cannot ${verb === 'resume' ? 'be resumed' : 'be undone step by step'}${keeping}. To end it: run ${steps.join(', then ')}${
      route !== null ? ` (and switchyard route set <old url>${siteOption} if ${route} is the new server and you want the old one back)` : ''
    }`,
  );
}
