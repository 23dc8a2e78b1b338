import { EventEmitter } from 'node:events';
import { SwitchyardError } from './errors';
import type { KeyLayout } from './keys';
import type { FrontEndReport, StateWrite, StoreWatch, StoreWatchEventMap } from './store-types';

/** A StoreWatch whose `close()` calls `onClose` (the store forgets it) and drops its listeners. */
export function createStoreWatch(onClose: (watch: StoreWatch) => void): StoreWatch {
  const watch = new EventEmitter<StoreWatchEventMap>() as StoreWatch;
  watch.close = () => {
    onClose(watch);
    watch.removeAllListeners();
  };
  return watch;
}

/** How many entries `switchyard:history` keeps (both stores, and the CLI when it trims). */
export const HISTORY_LIMIT = 10_000;

/** The error every store method throws after `close()`. */
export function storeClosedError(): SwitchyardError {
  return new SwitchyardError('SWITCHYARD_ERR_STORE_CLOSED', 'the store was closed; create a new one');
}

/** The time of a history entry, from its stream id (`<milliseconds>-<sequence>`). */
export function historyTime(id: string): string {
  return new Date(Number(id.split('-')[0])).toISOString();
}

/** Refuses a batch that names one key twice: all-or-nothing compare-and-set needs one expectation per key. */
export function batchKeys(keys: KeyLayout, changes: readonly StateWrite[]): string[] {
  const list = changes.map((change) => keys.state(change.kind, change.site));
  const duplicate = list.find((key, index) => list.indexOf(key) !== index);
  if (duplicate !== undefined) {
    throw new SwitchyardError('SWITCHYARD_ERR_INVALID_OPTION', `a batch names ${duplicate} twice; write each key once per batch`);
  }
  return list;
}

/**
 * A heartbeat as read back from the store, with defaults for the fields an older front end did
 * not publish; undefined when it is not a report at all.
 */
export function normalizeReport(value: unknown): FrontEndReport | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const report = value as Partial<FrontEndReport>;
  if (typeof report.id !== 'string') return undefined;
  return {
    ...(report as FrontEndReport),
    invalidKeys: Array.isArray(report.invalidKeys) ? report.invalidKeys.filter((key) => typeof key === 'string') : [],
    lostState: report.lostState === true,
    servedByTarget: typeof report.servedByTarget === 'object' && report.servedByTarget !== null ? report.servedByTarget : {},
  };
}

/**
 * Removes the password from a URL so it can be shown or logged. The user information ends at the
 * last `@` (a password may contain `@` and `/`), and everything after the user name's `:` goes.
 */
export function redactUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  if (!scheme) return url;
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at === -1) return url;
  const userInfo = rest.slice(0, at);
  const colon = userInfo.indexOf(':');
  if (colon === -1) return url;
  return `${scheme}${userInfo.slice(0, colon)}:***@${rest.slice(at + 1)}`;
}
