import { ConflictError, SwitchyardError } from './errors';
import { keyLayout } from './keys';
import type {
  FrontEndReport,
  HistoryEntry,
  RawRead,
  RawState,
  StateWrite,
  Store,
  StoreOptions,
  StoreWatchEvents,
  WriteResult,
} from './store';

const HISTORY_LIMIT = 10_000;

interface MemoryData {
  version: number;
  values: Map<string, string>;
  history: HistoryEntry[];
  fronts: Map<string, { report: FrontEndReport; expiresAt: number }>;
  cutovers: Map<string, string>;
  watchers: Set<StoreWatchEvents>;
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
  const own = new Set<StoreWatchEvents>();

  const open = () => {
    if (closed) throw new SwitchyardError('SWITCHYARD_ERR_STORE_CLOSED', 'the store was closed; create a new one');
  };
  const notify = (changed: string[]) => {
    for (const watcher of state.watchers) queueMicrotask(() => watcher.invalidate(changed));
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

  return {
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
      open();
      const key = keys.state(change.kind, change.site);
      const current = state.values.get(key) ?? null;
      if (change.expect && change.expect.value !== current) throw new ConflictError(key, current);
      if (current === change.value) return { version: state.version, previous: current, changed: false };
      if (change.value === null) state.values.delete(key);
      else state.values.set(key, change.value);
      state.version += 1;
      const id = nextHistoryId();
      state.history.push({
        id,
        time: new Date(Number(id.split('-')[0])).toISOString(),
        actor: change.actor,
        site: change.site,
        kind: change.kind,
        action: change.action,
        old: current,
        new: change.value,
        version: state.version,
        ...(change.cutoverId ? { cutoverId: change.cutoverId } : {}),
      });
      if (state.history.length > HISTORY_LIMIT) state.history.splice(0, state.history.length - HISTORY_LIMIT);
      notify([key, keys.version]);
      return { version: state.version, previous: current, changed: true };
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
    watch(events) {
      open();
      state.watchers.add(events);
      own.add(events);
      queueMicrotask(() => events.up());
      return () => {
        state.watchers.delete(events);
        own.delete(events);
      };
    },
    async close() {
      closed = true;
      for (const events of own) state.watchers.delete(events);
      own.clear();
    },
  };
}
