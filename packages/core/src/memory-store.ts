import { ConflictError } from './errors';
import { keyLayout } from './keys';
import { batchKeys, createStoreWatch, HISTORY_LIMIT, historyTime, storeClosedError } from './store-common';
import type {
  FrontEndReport,
  HistoryEntry,
  RawRead,
  RawState,
  StateWrite,
  Store,
  StoreOptions,
  StoreWatch,
  WriteResult,
} from './store-types';

interface MemoryData {
  version: number;
  values: Map<string, string>;
  history: HistoryEntry[];
  fronts: Map<string, { report: FrontEndReport; expiresAt: number }>;
  cutovers: Map<string, string>;
  watchers: Set<StoreWatch>;
  lastHistoryMs: number;
  historySeq: number;
}

/** Named in-process stores, so a CLI-like caller and a front end in one process share state. */
const registry = new Map<string, MemoryData>();

/** An in-process store with the same semantics as Redis; notifications are delivered asynchronously. */
export function createMemoryStore(name: string, options: Pick<StoreOptions, 'prefix'> = {}): Store {
  const keys = keyLayout(options.prefix);
  const registryKey = `${name}\u0000${keys.prefix}`;
  let data = registry.get(registryKey);
  if (!data) {
    data = {
      version: 0,
      values: new Map(),
      history: [],
      fronts: new Map(),
      cutovers: new Map(),
      watchers: new Set(),
      lastHistoryMs: 0,
      historySeq: 0,
    };
    registry.set(registryKey, data);
  }
  const state = data;
  let closed = false;
  const own = new Set<StoreWatch>();

  const open = () => {
    if (closed) throw storeClosedError();
  };
  const notify = (changed: string[]) => {
    for (const watch of state.watchers) queueMicrotask(() => watch.emit('invalidate', changed));
  };
  const nextHistoryId = () => {
    const now = Date.now();
    if (now === state.lastHistoryMs) state.historySeq += 1;
    else {
      state.lastHistoryMs = now;
      state.historySeq = 0;
    }
    return `${now}-${state.historySeq}`;
  };

  const store: Store = {
    keys,
    description: `memory://${name}`,
    pushesChanges: true,
    async readAll(): Promise<RawState> {
      open();
      return { version: state.version, values: new Map(state.values) };
    },
    async readKeys(list): Promise<RawRead> {
      open();
      return { version: state.version, values: new Map(list.map((key) => [key, state.values.get(key) ?? null])) };
    },
    async write(change: StateWrite): Promise<WriteResult> {
      return (await store.writeBatch([change]))[0] as WriteResult;
    },
    async writeBatch(changes, options = {}): Promise<WriteResult[]> {
      open();
      const list = batchKeys(keys, changes);
      if (list.length === 0) return [];
      const current = list.map((key) => state.values.get(key) ?? null);
      changes.forEach((change, index) => {
        const held = current[index] ?? null;
        if (change.expect && change.expect.value !== held) throw new ConflictError(list[index] as string, held);
      });
      const changed = changes.map((change, index) => change.value !== current[index]);
      const atLeast = options.versionAtLeast ?? 0;
      if (!changed.includes(true) && atLeast <= state.version) {
        return current.map((previous) => ({ version: state.version, previous, changed: false }));
      }
      state.version = Math.max(state.version + 1, atLeast);
      changes.forEach((change, index) => {
        if (!changed[index]) return;
        const key = list[index] as string;
        if (change.value === null) state.values.delete(key);
        else state.values.set(key, change.value);
        const id = nextHistoryId();
        state.history.push({
          id,
          time: historyTime(id),
          actor: change.actor,
          site: change.site,
          kind: change.kind,
          action: change.action,
          old: current[index] ?? null,
          new: change.value,
          version: state.version,
          ...(change.cutoverId ? { cutoverId: change.cutoverId } : {}),
        });
      });
      if (state.history.length > HISTORY_LIMIT) state.history.splice(0, state.history.length - HISTORY_LIMIT);
      notify([...list.filter((_, index) => changed[index]), keys.version]);
      return current.map((previous, index) => ({ version: state.version, previous, changed: changed[index] === true }));
    },
    async history(limit) {
      open();
      return state.history.slice(-limit).reverse();
    },
    async putFront(report, ttlMs) {
      open();
      state.fronts.set(report.id, { report, expiresAt: Date.now() + ttlMs });
    },
    async removeFront(id) {
      open();
      state.fronts.delete(id);
    },
    async listFronts() {
      open();
      const now = Date.now();
      for (const [id, entry] of state.fronts) if (entry.expiresAt <= now) state.fronts.delete(id);
      return [...state.fronts.values()].map((entry) => entry.report);
    },
    async getCutover(site) {
      open();
      return state.cutovers.get(site) ?? null;
    },
    async putCutover(site, value) {
      open();
      if (value === null) state.cutovers.delete(site);
      else state.cutovers.set(site, value);
    },
    async createCutover(site, value) {
      open();
      if (state.cutovers.has(site)) return false;
      state.cutovers.set(site, value);
      return true;
    },
    watch() {
      open();
      const watch = createStoreWatch((closed) => {
        state.watchers.delete(closed);
        own.delete(closed);
      });
      state.watchers.add(watch);
      own.add(watch);
      queueMicrotask(() => watch.emit('up'));
      return watch;
    },
    async close() {
      closed = true;
      for (const watch of own) state.watchers.delete(watch);
      own.clear();
    },
  };
  return store;
}
