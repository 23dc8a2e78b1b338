import { ConflictError, type FrontEndReport, type KeptState, restoreKeptState, type Store, SwitchyardError } from '@switchyard/core';
import type { CommandContext } from './context';
import { describeFront, type FrontAgreement, readAgreement } from './convergence';
import { cliError } from './errors';
import { sleep } from './sleep';

/**
 * State loss as a state: when Redis comes back empty, the front ends keep serving what they had and
 * say so in their heartbeat (`lostState`, `kept`). This module finds what they keep and writes it
 * back (`switchyard restore`, and every write command before it writes), so commands act on what
 * the front ends actually apply instead of on the empty Redis.
 */

/** One state kept by some front ends. */
export interface KeptChoice {
  readonly kept: KeptState;
  /** The live front ends keeping exactly this. */
  readonly fronts: readonly FrontEndReport[];
}

/** The distinct states the live front ends keep through a state loss, the newest first. */
export function keptChoices(agreement: FrontAgreement): KeptChoice[] {
  const choices = new Map<string, { kept: KeptState; fronts: FrontEndReport[] }>();
  for (const front of agreement.lostState) {
    if (!front.kept) continue;
    // The same values are the same state, whatever version each front end last read with them (one may
    // have seen a version bump the other missed before Redis lost it): restore them above the newest.
    const id = JSON.stringify(Object.entries(front.kept.values).sort());
    const choice = choices.get(id) ?? { kept: front.kept, fronts: [] };
    if (front.kept.version > choice.kept.version) choice.kept = front.kept;
    choices.set(id, choice);
    choice.fronts.push(front);
  }
  return [...choices.values()].sort((a, b) => b.kept.version - a.kept.version);
}

/**
 * The kept state to write back: the one every keeping front end agrees on, or the one `--from`
 * names. Throws SWITCHYARD_ERR_KEPT_STATES_DIFFER naming who keeps what when they disagree, and
 * SWITCHYARD_ERR_USAGE when `from` names no front end keeping state.
 */
export function chooseKept(agreement: FrontAgreement, from?: string): KeptChoice | undefined {
  const choices = keptChoices(agreement);
  if (from !== undefined) {
    const chosen = choices.find((choice) => choice.fronts.some((front) => front.id === from));
    if (!chosen) {
      const keeping = choices.flatMap((choice) => choice.fronts.map((front) => front.id));
      throw cliError(
        'SWITCHYARD_ERR_USAGE',
        `--from ${from}: no live front end with that id keeps lost state${keeping.length > 0 ? `; these do: ${keeping.join(', ')}` : ''}`,
      );
    }
    return { kept: chosen.kept, fronts: chosen.fronts };
  }
  if (choices.length <= 1) return choices[0];
  throw cliError(
    'SWITCHYARD_ERR_KEPT_STATES_DIFFER',
    `the front ends keep different states: ${choices.map(describeChoice).join('; ')}; choose one with switchyard restore --from <front id>`,
  );
}

/** `fe-1 (h, pid 3), fe-2 (…) keep version 14: route default = http://…, maintenance default = {…}` */
export function describeChoice(choice: KeptChoice): string {
  const values = Object.entries(choice.kept.values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key} = ${value.length > 80 ? `${value.slice(0, 80)}…` : value}`);
  return `${choice.fronts.map(describeFront).join(', ')} keep version ${choice.kept.version}${values.length > 0 ? ` (${values.join(', ')})` : ' (nothing)'}`;
}

/** What writeBackKept did. */
export interface WriteBackResult {
  /** The state version after it. */
  readonly version: number;
  /** False when Redis already held the kept values (someone restored the same state first). */
  readonly restored: boolean;
}

/**
 * Writes a kept state back into Redis, compare-and-set against what is there now (normally
 * nothing), above the kept version so the front ends follow Redis again without dropping anything.
 * Only while Redis is still behind the kept version: once anyone has restored or written a newer
 * state, a different kept state is refused (SWITCHYARD_ERR_CONFLICT, nothing written) — two
 * operators cannot restore conflicting states, one after the other or at the same moment.
 */
export async function writeBackKept(store: Store, kept: KeptState, actor?: string): Promise<WriteBackResult> {
  const keys = Object.keys(kept.values);
  const holdsKept = (values: ReadonlyMap<string, string | null>) => keys.every((key) => values.get(key) === kept.values[key]);
  const conflict = (version: number, cause?: unknown) =>
    new SwitchyardError(
      'SWITCHYARD_ERR_CONFLICT',
      `Redis holds version ${version} now, not the lost state: someone restored or wrote another state meanwhile; nothing restored; see switchyard status`,
      { cause },
    );
  const now = await store.readKeys(keys);
  if (now.version >= kept.version) {
    if (holdsKept(now.values)) return { version: now.version, restored: false };
    throw conflict(now.version);
  }
  const seen = Object.fromEntries(keys.map((key) => [key, now.values.get(key) ?? null]));
  try {
    const results = await restoreKeptState(store, kept, { seen, ...(actor ? { actor } : {}) });
    return { version: Math.max(now.version, ...results.map((result) => result.version)), restored: true };
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    // Another restore won the race: fine if it wrote this very state.
    const after = await store.readKeys(keys);
    if (holdsKept(after.values)) return { version: after.version, restored: false };
    throw conflict(after.version, error);
  }
}

/**
 * Before a write command acts: if live front ends keep state Redis lost, write it back first (they
 * must agree on it), so the command changes what the front ends really apply — `maintenance off`
 * ends the maintenance they keep, `maintenance on --read-only` keeps the route they keep. When they
 * disagree the command refuses (nothing written) with the exact `switchyard restore --from` to run.
 */
export async function restoreBeforeWrite(context: CommandContext): Promise<void> {
  const seen = await context.store.listFronts();
  if (!seen.some((front) => front.lostState)) return;
  // A report can be a heartbeat period old. One written before its front end followed a state
  // written since (an operator's bare SET into the emptied Redis) would have the kept state written
  // over that SET, so only reports made after this point count; a keeping front end that makes none
  // stops the command, since leaving it out could drop what it keeps.
  const { fronts, silent } = await reportsSince(context.store, seen, NEW_REPORT_WAIT_MS, context.signal);
  if (silent.length > 0) {
    const one = silent.length === 1;
    throw cliError(
      'SWITCHYARD_ERR_KEPT_STATE_UNCONFIRMED',
      `Redis lost its state and ${silent.map(describeFront).join(', ')} ${one ? 'kept it but has' : 'kept it but have'} not reported again in ${NEW_REPORT_WAIT_MS / 1000} s, so what ${one ? 'it applies' : 'they apply'} now is unknown; nothing written. Check that ${one ? 'it runs' : 'they run'} and ${one ? 'reaches' : 'reach'} Redis (the heartbeat of a stopped front end expires within seconds), then run this command again`,
    );
  }
  if (!fronts.some((front) => front.lostState)) return;
  const agreement = await readAgreement(context.store, fronts);
  let choice: KeptChoice | undefined;
  try {
    choice = chooseKept(agreement);
  } catch (error) {
    if (error instanceof SwitchyardError && error.code === 'SWITCHYARD_ERR_KEPT_STATES_DIFFER') {
      throw cliError('SWITCHYARD_ERR_KEPT_STATES_DIFFER', `Redis lost its state and ${error.message}, then run this command again`);
    }
    throw error;
  }
  if (!choice) return;
  const { version, restored } = await writeBackKept(context.store, choice.kept);
  if (!restored) return;
  context.note(
    context.style.yellow(
      `Redis had lost its state: wrote back version ${choice.kept.version} kept by ${choice.fronts.map((front) => front.id).join(', ')} first (now version ${version}), as switchyard restore does`,
    ),
  );
}

/** How long a write command waits for a new report from each front end keeping lost state: a heartbeat period (1 s ± 10%) with room for a loaded machine. */
const NEW_REPORT_WAIT_MS = 2500;
const POLL_MS = 50;

/**
 * The live front ends' reports once each that kept lost state in `seen` has reported again, and
 * those that did not within `waitMs` (frozen, or cut off from Redis: their last report predates
 * this command). Front ends that kept nothing are taken as they are.
 */
async function reportsSince(
  store: Store,
  seen: readonly FrontEndReport[],
  waitMs: number,
  signal: AbortSignal,
): Promise<{ fronts: FrontEndReport[]; silent: FrontEndReport[] }> {
  const before = new Map(seen.filter((front) => front.lostState).map((front) => [front.id, front.updatedAt]));
  const renewed = (front: FrontEndReport) => before.get(front.id) !== front.updatedAt;
  const deadline = performance.now() + waitMs;
  for (;;) {
    signal.throwIfAborted();
    const fronts = await store.listFronts();
    if (fronts.every(renewed) || performance.now() >= deadline) {
      return { fronts: fronts.filter(renewed), silent: fronts.filter((front) => !renewed(front)) };
    }
    // Ctrl-C during the wait stops the command at once, as in the other waits on heartbeats.
    await sleep(POLL_MS, signal);
  }
}
