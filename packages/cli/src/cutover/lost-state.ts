import { DEFAULT_SITE, isSwitchyardError, type Store } from '@switchyard/core';
import { UNFENCE_BY_HAND } from '@switchyard/db';
import { type FrontAgreement, readAgreement, waitForConvergence } from '../convergence';
import { describeMaintenanceValue } from '../describe';
import { type CliError, cliError } from '../errors';
import { chooseKept, keptChoices, writeBackKept } from '../kept-state';
import { sleep } from '../sleep';
import type { CutoverUndoOutcome } from './steps';

/**
 * First act of a clean-up: when Redis lost its state (restarted empty) while the front ends keep
 * the cutover's maintenance, undoing against the empty Redis would find everything "as before" and
 * leave every front end refusing writes. So the state they keep is written back first (as
 * `switchyard restore` does: `kept-state.ts`, compare-and-set, version above theirs), and the step
 * undos then act on what the front ends really apply. Undefined when nothing was lost.
 */
export async function writeBackKeptState(
  store: Store,
  options: { readonly actor: string; readonly convergenceTimeoutMs: number; readonly report: (ok: boolean, detail: string) => void },
): Promise<CutoverUndoOutcome | undefined> {
  const agreement = await readAgreementOnceReachable(store, options.convergenceTimeoutMs);
  if (agreement.lostState.length === 0) return undefined;
  const blocked = (problem: string): CutoverUndoOutcome => {
    options.report(false, problem);
    return { restored: false, summary: 'state Redis lost not written back', problem, blocked: true };
  };
  let choice: ReturnType<typeof chooseKept>;
  try {
    choice = chooseKept(agreement);
  } catch (error) {
    // The front ends keep different states: which one is right is the operator's call.
    return blocked(`Redis lost its state and ${(error as Error).message}`);
  }
  if (!choice)
    return blocked('front ends keep state Redis lost but do not report it (older front ends); restart them or write it back by hand');
  let version: number;
  try {
    const result = await writeBackKept(store, choice.kept, options.actor);
    if (!result.restored) return { restored: true, summary: 'state Redis lost written back by someone else' };
    version = result.version;
  } catch (error) {
    // Someone restored or wrote another state meanwhile: the undos compare-and-set against what is there now.
    if (isSwitchyardError(error, 'SWITCHYARD_ERR_CONFLICT'))
      return { restored: false, summary: 'state Redis lost replaced by someone else' };
    throw error;
  }
  const summary = `state the front ends kept written back (version ${choice.kept.version})`;
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
 * The state and heartbeats, retried while Redis is unreachable for up to `timeoutMs`: a clean-up
 * that starts during a Redis restart should wait the second it takes to come back rather than give
 * up and leave the site in maintenance. Each attempt has the store's own command deadline.
 */
async function readAgreementOnceReachable(store: Store, timeoutMs: number): Promise<FrontAgreement> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await readAgreement(store);
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
  const agreement = await readAgreement(store);
  if (agreement.lostState.length === 0) return undefined;
  const choices = keptChoices(agreement);
  const kept = choices[0]?.kept;
  const siteOption = site === DEFAULT_SITE ? '' : ` --site ${site}`;
  const maintenance = kept?.values[store.keys.maintenance(site)] ?? null;
  const route = kept?.values[store.keys.route(site)] ?? null;
  const keeping =
    choices.length > 1
      ? '; the front ends keep different states (see switchyard status)'
      : kept
        ? `; the front ends keep version ${kept.version}: route ${route ?? '(none)'}, maintenance ${describeMaintenanceValue(maintenance)}`
        : '';
  const restore = choices.length > 1 ? 'switchyard restore --from <front id>' : 'switchyard restore';
  const steps = [restore, ...(maintenance !== null ? [`switchyard maintenance off${siteOption}`] : [])];
  // The journal said whether the cutover fenced or promoted a database; without it only the operator
  // knows, and lifting maintenance onto a fenced database would fail every write.
  const databases =
    maintenance !== null
      ? `. If the cutover moved a database: before maintenance off, lift the old database's fence if the target was not promoted (${UNFENCE_BY_HAND}), and keep the route on the new server if it was`
      : '';
  return cliError(
    'SWITCHYARD_ERR_CUTOVER_FAILED',
    `Redis lost its state, and with it the journal of the cutover of ${site}, which cannot ${verb === 'resume' ? 'be resumed' : 'be undone step by step'}${keeping}. To end it: run ${steps.join(', then ')}${
      route !== null ? ` (and switchyard route set <old url>${siteOption} if ${route} is the new server and you want the old one back)` : ''
    }${databases}`,
  );
}
