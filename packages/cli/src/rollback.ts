import { ConflictError, defaultActor, type HistoryEntry, type StateKind, type Store, SwitchyardError } from '@switchyard/core';
import { parseStateValue, writeRaw } from '@switchyard/core/internal';
import { SWITCH_AFTER_PROMOTION } from './cutover/steps/switch';
import { cliError } from './errors';
import { readHistory } from './site-history';

/** One value a rollback restores. */
export interface RollbackChange {
  readonly kind: StateKind;
  /** The value now (what the undone change wrote). */
  readonly from: string | null;
  /** The value before the undone change. */
  readonly to: string | null;
}

/** What a rollback would do. */
export interface RollbackPlan {
  readonly site: string;
  /** The history entries being undone, newest first: the last change, or every step of the last cutover. */
  readonly undoing: readonly HistoryEntry[];
  /** The values to restore, route first; empty when the undone change left the site as it was. */
  readonly changes: readonly RollbackChange[];
  /** The state version when the plan was made. */
  readonly version: number;
  /** The undone cutover promoted a database before its switch (a plan that puts its route back needs `afterPromote`). */
  readonly afterPromotion: boolean;
}

/** Options of planRollback. */
export interface PlanRollbackOptions {
  /**
   * Roll back the route even though the undone cutover promoted a database before switching (the
   * old database is fenced or misses the writes made since). Without it the plan refuses.
   */
  readonly afterPromote?: boolean;
}

/** How deep into a site's history a rollback looks for the steps of its last cutover. */
const HISTORY_DEPTH = 200;

/**
 * Plans undoing the last recorded change of a site. When that change belongs to a cutover, the
 * whole cutover is undone: route and maintenance go back to what they were before it started.
 * Refuses (SWITCHYARD_ERR_CONFLICT) when a value differs from what the history says it should be, which
 * means someone changed it outside Switchyard: guessing then could undo the wrong thing. Refuses
 * (SWITCHYARD_ERR_DATABASE_PROMOTED) to put back the route of a cutover that promoted a database,
 * unless `afterPromote`.
 */
export async function planRollback(store: Store, site: string, options: PlanRollbackOptions = {}): Promise<RollbackPlan> {
  const entries = await readHistory(store, { site, limit: HISTORY_DEPTH });
  const latest = entries[0];
  if (!latest) {
    throw cliError('SWITCHYARD_ERR_NO_SITE', `no recorded change of site ${JSON.stringify(site)} to roll back; see switchyard history`);
  }
  const undoing = latest.cutoverId ? entries.filter((entry) => entry.cutoverId === latest.cutoverId) : [latest];
  const current = await store.readKeys([store.keys.route(site), store.keys.maintenance(site)]);
  const changes: RollbackChange[] = [];
  for (const kind of ['route', 'maintenance'] as const) {
    const ofKind = undoing.filter((entry) => entry.kind === kind);
    const newest = ofKind[0];
    const oldest = ofKind[ofKind.length - 1];
    if (!newest || !oldest) continue;
    const now = current.values.get(store.keys.state(kind, site)) ?? null;
    if (now !== newest.new) {
      throw new SwitchyardError(
        'SWITCHYARD_ERR_CONFLICT',
        `${kind} of ${site} is ${JSON.stringify(now)} but its last recorded change set ${JSON.stringify(newest.new)} (changed outside switchyard?); nothing rolled back, set it explicitly instead`,
      );
    }
    if (oldest.old !== now) changes.push({ kind, from: now, to: assertRestorable(site, kind, oldest.old) });
  }
  const promotion = undoing.find((entry) => entry.action === SWITCH_AFTER_PROMOTION);
  if (promotion && !options.afterPromote && changes.some((change) => change.kind === 'route')) {
    throw cliError(
      'SWITCHYARD_ERR_DATABASE_PROMOTED',
      `cutover ${promotion.cutoverId ?? ''} promoted the new database before switching ${site} to ${promotion.new ?? '(none)'}: its route back` +
        ' would send the site to the old database, which is fenced or misses every write made since; nothing rolled back.' +
        ' Make the old database follow the new one and cut over back (README, "Rollback"), or pass --after-promote to put back the route and maintenance anyway',
    );
  }
  return { site, undoing, changes, version: current.version, afterPromotion: promotion !== undefined };
}

/**
 * The value before the undone change, if it can be written back. A value that was malformed when
 * it was replaced (a bare `redis-cli SET`) cannot: that refusal is a fact of the history, not a
 * usage error, so it is SWITCHYARD_ERR_CONFLICT (exit 1) — and it comes before anything is written.
 */
function assertRestorable(site: string, kind: StateKind, value: string | null): string | null {
  if (value === null) return value;
  try {
    parseStateValue(kind, value);
    return value;
  } catch (error) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_CONFLICT',
      `${kind} of ${site} was ${JSON.stringify(value)} before its last recorded change, which is not valid (${(error as Error).message}); nothing rolled back, set it explicitly instead`,
      { cause: error },
    );
  }
}

/** Options of applyRollback. */
export interface ApplyRollbackOptions {
  actor?: string;
  /** Called after each write with its version, e.g. to wait for the front ends before the next one. */
  afterWrite?: (version: number) => Promise<void>;
}

/**
 * Applies a rollback plan with compare-and-set writes (action `rollback` in the history), route
 * first, as a failed cutover does: maintenance is lifted only once traffic goes where it went before.
 * Resolves to the state version after the last write.
 */
export async function applyRollback(store: Store, plan: RollbackPlan, options: ApplyRollbackOptions = {}): Promise<number> {
  let version = plan.version;
  for (const change of plan.changes) {
    const outcome = await putBack(
      store,
      plan.site,
      change.kind,
      { value: change.to, expected: change.from },
      {
        actor: options.actor ?? defaultActor(),
        action: 'rollback',
      },
    );
    if (outcome.result === 'changed') {
      throw new SwitchyardError(
        'SWITCHYARD_ERR_CONFLICT',
        `rollback stopped: ${store.keys.state(change.kind, plan.site)} was changed by someone else (now ${outcome.current === null ? 'absent' : JSON.stringify(outcome.current)})`,
      );
    }
    version = outcome.version;
    if (outcome.result === 'written') await options.afterWrite?.(version);
  }
  return version;
}

/** What putBack did: wrote the value, found it already there, or found something else (left alone). */
export type PutBackOutcome =
  | { readonly result: 'written'; readonly version: number }
  | { readonly result: 'already'; readonly version: number }
  | { readonly result: 'changed'; readonly version: number; readonly current: string | null };

/**
 * Puts one value back, the one undo both `rollback` and a failed or aborted cutover use: writes
 * `value` only while the key still holds `expected` (compare-and-set, recorded in the history with
 * `action`); leaves a value someone else wrote alone (`changed`) rather than guess.
 */
export async function putBack(
  store: Store,
  site: string,
  kind: StateKind,
  change: { readonly value: string | null; readonly expected: string | null },
  write: { readonly actor: string; readonly action: string; readonly cutoverId?: string },
): Promise<PutBackOutcome> {
  const key = store.keys.state(kind, site);
  const read = await store.readKeys([key]);
  const current = read.values.get(key) ?? null;
  if (current === change.value) return { result: 'already', version: read.version };
  if (current !== change.expected) return { result: 'changed', version: read.version, current };
  try {
    const result = await writeRaw(store, kind, site, change.value, { ...write, expect: change.expected });
    return { result: 'written', version: result.version };
  } catch (error) {
    // Changed between the read and the write.
    if (error instanceof ConflictError) return { result: 'changed', version: read.version, current: error.current };
    throw error;
  }
}
