import { ConflictError, defaultActor, type HistoryEntry, type StateKind, type Store, SwitchyardError } from '@switchyard/core';
import { writeRaw } from '@switchyard/core/internal';
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
}

/** How deep into a site's history a rollback looks for the steps of its last cutover. */
const HISTORY_DEPTH = 200;

/**
 * Plans undoing the last recorded change of a site. When that change belongs to a cutover, the
 * whole cutover is undone: route and maintenance go back to what they were before it started.
 * Refuses (SWITCHYARD_ERR_CONFLICT) when a value differs from what the history says it should be, which
 * means someone changed it outside Switchyard: guessing then could undo the wrong thing.
 */
export async function planRollback(store: Store, site: string): Promise<RollbackPlan> {
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
    if (oldest.old !== now) changes.push({ kind, from: now, to: oldest.old });
  }
  return { site, undoing, changes };
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
  let version = (await store.readKeys([])).version;
  for (const change of plan.changes) {
    try {
      const result = await writeRaw(store, change.kind, plan.site, change.to, {
        expect: change.from,
        actor: options.actor ?? defaultActor(),
        action: 'rollback',
      });
      version = result.version;
      await options.afterWrite?.(version);
    } catch (error) {
      if (error instanceof ConflictError) {
        throw new SwitchyardError('SWITCHYARD_ERR_CONFLICT', `rollback stopped: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  return version;
}
