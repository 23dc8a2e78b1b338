import { type FrontEndReport, readState, type Store, type StoredState } from '@switchyard/core';
import { parseStateValue } from '@switchyard/core/internal';
import { type CliError, cliError } from './errors';
import { sleep } from './sleep';

/**
 * The one meaning of "converged" in the CLI: a front end applies exactly the state Redis holds —
 * the same digest (same routing and maintenance) and the same version. `status`, `fronts`, `watch`,
 * the waits after a write and the cutover all judge front ends with this module.
 */
export function isConverged(front: FrontEndReport, state: { readonly version: number; readonly digest: string }): boolean {
  return front.digest === state.digest && front.version === state.version;
}

/** A stored value front ends refuse (malformed): they keep their last good value for its key. */
export interface InvalidStoredValue {
  readonly key: string;
  readonly site: string;
  readonly kind: 'route' | 'maintenance';
  /** Why it is invalid. */
  readonly error: string;
  /** Ids of the live front ends that report ignoring it (`invalidKeys` in their heartbeat). */
  readonly ignoredBy: readonly string[];
}

/** Live front ends applying one (version, digest). */
export interface FrontGroup {
  readonly version: number;
  readonly digest: string;
  /** True when this is exactly what Redis holds. */
  readonly current: boolean;
  readonly fronts: readonly FrontEndReport[];
}

/** How the live front ends stand against the state in Redis. */
export interface FrontAgreement {
  readonly state: StoredState;
  readonly fronts: readonly FrontEndReport[];
  /** Every live front end is converged (vacuously true with none). */
  readonly converged: boolean;
  /** The front ends grouped by what they apply, the group matching Redis first. */
  readonly groups: readonly FrontGroup[];
  /** More than one group: front ends apply different states. */
  readonly split: boolean;
  /** Malformed values stored in Redis now. */
  readonly invalid: readonly InvalidStoredValue[];
  /** Front ends that keep state Redis lost (restarted empty); `switchyard restore` writes it back. */
  readonly lostState: readonly FrontEndReport[];
}

/** Judges the live front ends against the state read from Redis. */
export function assessFronts(store: Store, state: StoredState, fronts: readonly FrontEndReport[]): FrontAgreement {
  const groups = new Map<string, { version: number; digest: string; current: boolean; fronts: FrontEndReport[] }>();
  for (const front of fronts) {
    const id = `${front.version}\t${front.digest}`;
    const group = groups.get(id) ?? { version: front.version, digest: front.digest, current: isConverged(front, state), fronts: [] };
    groups.set(id, group);
    group.fronts.push(front);
  }
  const invalid: InvalidStoredValue[] = [];
  for (const site of state.sites) {
    if (site.errors.length === 0) continue;
    for (const kind of ['route', 'maintenance'] as const) {
      const raw = site.raw[kind];
      if (raw === null) continue;
      try {
        parseStateValue(kind, raw);
      } catch (error) {
        const key = store.keys.state(kind, site.site);
        const ignoredBy = fronts.filter((front) => front.invalidKeys.includes(key)).map((front) => front.id);
        invalid.push({ key, site: site.site, kind, error: (error as Error).message, ignoredBy });
      }
    }
  }
  const sorted = [...groups.values()].sort((a, b) => Number(b.current) - Number(a.current) || b.version - a.version);
  return {
    state,
    fronts,
    converged: fronts.every((front) => isConverged(front, state)),
    groups: sorted,
    split: sorted.length > 1,
    invalid,
    lostState: fronts.filter((front) => front.lostState),
  };
}

/** Reads the state, and the heartbeats unless `reports` are given, and judges them. */
export async function readAgreement(store: Store, reports?: readonly FrontEndReport[]): Promise<FrontAgreement> {
  const [state, fronts] = await Promise.all([readState(store), reports ?? store.listFronts()]);
  return assessFronts(store, state, fronts);
}

/** `id (host, pid N)`, how front ends are named in messages. */
export function describeFront(front: FrontEndReport): string {
  return `${front.id} (${front.host}, pid ${front.pid})`;
}

/**
 * Which front end applies what, for the groups that are not what Redis holds:
 * `Redis holds version 7 (digest …), applied by fe-1; fe-2 (h, pid 9) applies version 6 (digest …)`.
 */
export function describeGroups(agreement: FrontAgreement): string {
  const parts: string[] = [];
  for (const group of agreement.groups) {
    if (group.current) continue;
    const cutOff = group.fronts.filter((front) => !front.connected).map((front) => front.id);
    parts.push(
      `${group.fronts.map(describeFront).join(', ')} ${group.fronts.length === 1 ? 'applies' : 'apply'} version ${group.version} (digest ${group.digest})${
        cutOff.length > 0 ? `, cut off from Redis: ${cutOff.join(', ')}` : ''
      }`,
    );
  }
  const current = agreement.groups.find((group) => group.current);
  const head = `Redis holds version ${agreement.state.version} (digest ${agreement.state.digest})${
    current ? `, applied by ${current.fronts.map((front) => front.id).join(', ')}` : ', applied by no front end'
  }`;
  return [head, ...parts].join('; ');
}

/** describeGroups plus every invalid stored value and any state loss: why front ends do not converge. */
export function describeDisagreement(agreement: FrontAgreement): string {
  const parts = [describeGroups(agreement), ...agreement.invalid.map(describeInvalid)];
  if (agreement.lostState.length > 0) parts.push(describeLostState(agreement.lostState));
  return parts.join('; ');
}

/** `switchyard:route:shop holds an invalid value (…); fe-1, fe-2 keep their last good value`. */
export function describeInvalid(value: InvalidStoredValue): string {
  const fix =
    value.kind === 'route' ? `switchyard route set <url> --site ${value.site}` : `switchyard maintenance on|off --site ${value.site}`;
  return `${value.key} holds an invalid value (${value.error}); ${
    value.ignoredBy.length > 0 ? `${value.ignoredBy.join(', ')} ignore it and keep their last good value` : 'front ends ignore it'
  }; write a valid one with ${fix}`;
}

/** `Redis lost its state; front ends keep version N (fe-1, fe-2); run switchyard restore`. */
export function describeLostState(fronts: readonly FrontEndReport[]): string {
  const versions = [...new Set(fronts.map((front) => keptVersion(front)))].sort((a, b) => b - a);
  return `Redis lost its state; front ends keep version ${versions.join(' and ')} (${fronts.map((front) => front.id).join(', ')}); write it back with switchyard restore`;
}

/** The version a front end keeps through a state loss (its `kept.version`, else what it applies). */
export function keptVersion(front: FrontEndReport): number {
  return front.kept?.version ?? front.version;
}

/** Options shared by the waits on front ends. */
export interface FrontWaitOptions {
  /** Give up after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** How often the heartbeats are read. Default 20 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** What a wait on the front ends found when it ended. */
export interface FrontWaitResult {
  /** The live front ends that were waited for (all of them satisfied the condition). */
  readonly fronts: readonly FrontEndReport[];
  readonly elapsedMs: number;
}

/**
 * Waits until Redis holds version `version` or later and every live front end is converged on
 * it (isConverged). No live front end counts as converged at once: `fronts` is then empty.
 * Throws SWITCHYARD_ERR_INVALID_STORED_STATE at once when Redis holds a value the front ends
 * report ignoring (they cannot converge until it is fixed), and SWITCHYARD_ERR_CONVERGENCE_TIMEOUT
 * naming which front end applies what after `timeoutMs`.
 */
export function waitForConvergence(store: Store, version: number, options: FrontWaitOptions = {}): Promise<FrontWaitResult> {
  return waitForAgreement(store, options, version, (agreement, timeoutMs) =>
    cliError(
      'SWITCHYARD_ERR_CONVERGENCE_TIMEOUT',
      `front ends did not converge on version ${Math.max(version, agreement.state.version)} within ${timeoutMs} ms: ${describeDisagreement(
        agreement,
      )}; check them (switchyard fronts), or raise --timeout`,
    ),
  );
}

/**
 * Waits until every live front end applies exactly what Redis holds now, re-reading the state each
 * round so a concurrent change does not make the wait hopeless. Used before a cutover: acting while
 * front ends disagree would make the result hard to reason about.
 */
export function waitForSameState(store: Store, options: FrontWaitOptions = {}): Promise<FrontWaitResult> {
  return waitForAgreement(store, options, 0, (agreement, timeoutMs) =>
    cliError(
      'SWITCHYARD_ERR_CONVERGENCE_TIMEOUT',
      `front ends do not apply the state in Redis after ${timeoutMs} ms: ${describeDisagreement(agreement)}; fix or stop them first (switchyard fronts)`,
    ),
  );
}

async function waitForAgreement(
  store: Store,
  options: FrontWaitOptions,
  version: number,
  timedOut: (agreement: FrontAgreement, timeoutMs: number) => CliError,
): Promise<FrontWaitResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const started = performance.now();
  for (;;) {
    options.signal?.throwIfAborted();
    const agreement = await readAgreement(store);
    const elapsedMs = Math.round(performance.now() - started);
    if (agreement.state.version >= version && agreement.converged) return { fronts: agreement.fronts, elapsedMs };
    const hopeless = agreement.invalid.filter((value) => value.ignoredBy.length > 0);
    if (hopeless.length > 0) {
      throw cliError('SWITCHYARD_ERR_INVALID_STORED_STATE', `front ends cannot converge: ${hopeless.map(describeInvalid).join('; ')}`);
    }
    if (elapsedMs >= timeoutMs) throw timedOut(agreement, timeoutMs);
    await sleep(intervalMs, options.signal);
  }
}

/**
 * Waits until no live front end has a write in flight, counting only heartbeats sent after the
 * front end applied `minVersion` (typically the maintenance that stops new writes).
 * Throws SWITCHYARD_ERR_DRAIN_TIMEOUT naming the busy front ends.
 */
export async function waitForDrain(store: Store, minVersion: number, options: FrontWaitOptions = {}): Promise<FrontWaitResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const started = performance.now();
  for (;;) {
    options.signal?.throwIfAborted();
    const fronts = await store.listFronts();
    const busy = fronts.filter((front) => !(front.version >= minVersion && front.inFlightWrites === 0));
    const elapsedMs = Math.round(performance.now() - started);
    if (busy.length === 0) return { fronts, elapsedMs };
    if (elapsedMs >= timeoutMs) {
      throw cliError(
        'SWITCHYARD_ERR_DRAIN_TIMEOUT',
        `writes still in flight after ${timeoutMs} ms: ${busy
          .map((front) => `${describeFront(front)} ${front.inFlightWrites} write(s)`)
          .join(', ')}; raise --drain-timeout or look for stuck requests on the old server`,
      );
    }
    await sleep(intervalMs, options.signal);
  }
}
