import { type FrontEndReport, readState, type Store } from '@switchyard/core';
import { type CliError, cliError } from './errors';
import { sleep } from './sleep';

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
 * Waits until every live front end applies state version `version` or later (so it runs the
 * write that produced it). No live front end counts as converged at once: `fronts` is then empty.
 * Throws SWITCHYARD_ERR_CONVERGENCE_TIMEOUT naming the laggards.
 */
export function waitForConvergence(store: Store, version: number, options: FrontWaitOptions = {}): Promise<FrontWaitResult> {
  return waitForFronts(store, options, {
    ready: (front) => front.version >= version,
    fail: (laggards, timeoutMs) =>
      cliError(
        'SWITCHYARD_ERR_CONVERGENCE_TIMEOUT',
        `${laggards.length} front end(s) did not apply version ${version} within ${timeoutMs} ms: ${laggards
          .map((front) => `${describeFront(front)} at version ${front.version}${front.connected ? '' : ' (cut off from Redis)'}`)
          .join(', ')}; check them, or raise --timeout`,
      ),
  });
}

/**
 * Waits until every live front end applies exactly what Redis holds now (same digest), re-reading
 * the state each round so a concurrent change does not make the wait hopeless. Used before a
 * cutover: acting while front ends disagree would make the result hard to reason about.
 */
export async function waitForSameState(store: Store, options: FrontWaitOptions = {}): Promise<FrontWaitResult> {
  let digest = (await readState(store)).digest;
  return waitForFronts(store, options, {
    refresh: async () => {
      digest = (await readState(store)).digest;
    },
    ready: (front) => front.digest === digest,
    fail: (laggards, timeoutMs) =>
      cliError(
        'SWITCHYARD_ERR_CONVERGENCE_TIMEOUT',
        `${laggards.length} front end(s) do not apply the state in Redis after ${timeoutMs} ms: ${laggards
          .map((front) => `${describeFront(front)} (version ${front.version}${front.connected ? '' : ', cut off from Redis'})`)
          .join(', ')}; fix or stop them first (switchyard fronts)`,
      ),
  });
}

/**
 * Waits until no live front end has a write in flight, counting only heartbeats sent after the
 * front end applied `minVersion` (typically the maintenance that stops new writes).
 * Throws SWITCHYARD_ERR_DRAIN_TIMEOUT naming the busy front ends.
 */
export function waitForDrain(store: Store, minVersion: number, options: FrontWaitOptions = {}): Promise<FrontWaitResult> {
  return waitForFronts(store, options, {
    ready: (front) => front.version >= minVersion && front.inFlightWrites === 0,
    fail: (busy, timeoutMs) =>
      cliError(
        'SWITCHYARD_ERR_DRAIN_TIMEOUT',
        `writes still in flight after ${timeoutMs} ms: ${busy
          .map((front) => `${describeFront(front)} ${front.inFlightWrites} write(s)`)
          .join(', ')}; raise --drain-timeout or look for stuck requests on the old server`,
      ),
  });
}

/** `id (host, pid N)`, how front ends are named in messages. */
export function describeFront(front: FrontEndReport): string {
  return `${front.id} (${front.host}, pid ${front.pid})`;
}

interface FrontCondition {
  refresh?: () => Promise<void>;
  ready: (front: FrontEndReport) => boolean;
  fail: (laggards: FrontEndReport[], timeoutMs: number) => CliError;
}

async function waitForFronts(store: Store, options: FrontWaitOptions, condition: FrontCondition): Promise<FrontWaitResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const started = performance.now();
  for (;;) {
    options.signal?.throwIfAborted();
    const fronts = await store.listFronts();
    const laggards = fronts.filter((front) => !condition.ready(front));
    const elapsedMs = Math.round(performance.now() - started);
    if (laggards.length === 0) return { fronts, elapsedMs };
    if (elapsedMs >= timeoutMs) throw condition.fail(laggards, timeoutMs);
    await sleep(intervalMs, options.signal);
    await condition.refresh?.();
  }
}
