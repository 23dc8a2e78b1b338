import { hostname, userInfo } from 'node:os';
import { SwitchyardError } from './errors';
import { assertSiteName, type StateKind } from './keys';
import { type MaintenanceState, stringifyMaintenance } from './maintenance-state';
import { parseRoute } from './route';
import { parseStateValue, type SiteState, stateDigest } from './site-state';
import type { StateWrite, Store, WriteResult } from './store';

/** Common options of the write helpers. */
export interface WriteOptions {
  /** Compare-and-set: the raw value the caller read (null: absent); the write fails with SWITCHYARD_ERR_CONFLICT if it changed. */
  expect?: string | null;
  /** Who is making the change; default `user@host`. */
  actor?: string;
  /** History verb; a sensible default per helper. */
  action?: string;
  cutoverId?: string;
}

/** A site's state read straight from the store, with any malformed values reported. */
export interface StoredSite extends SiteState {
  readonly raw: { readonly route: string | null; readonly maintenance: string | null };
  readonly errors: readonly SwitchyardError[];
}

/** Everything stored, parsed, with the version and the digest front ends should report. */
export interface StoredState {
  readonly version: number;
  readonly digest: string;
  readonly sites: readonly StoredSite[];
}

/** `user@host` of this process, recorded in history. */
export function defaultActor(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep the environment's idea.
  }
  return `${user}@${hostname()}`;
}

/** Reads and parses every site's state; malformed values are returned as errors, not thrown. */
export async function readState(store: Store): Promise<StoredState> {
  const all = await store.readAll();
  const sites = new Map<
    string,
    { raw: { route: string | null; maintenance: string | null }; parsed: Partial<SiteState>; errors: SwitchyardError[] }
  >();
  for (const [key, raw] of all.values) {
    const parsed = store.keys.parseState(key);
    if (!parsed) continue;
    const entry = sites.get(parsed.site) ?? { raw: { route: null, maintenance: null }, parsed: {}, errors: [] };
    sites.set(parsed.site, entry);
    entry.raw[parsed.kind] = raw;
    try {
      Object.assign(entry.parsed, { [parsed.kind]: parseStateValue(parsed.kind, raw) });
    } catch (error) {
      entry.errors.push(error as SwitchyardError);
    }
  }
  const list: StoredSite[] = [...sites.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([site, entry]) => ({ site, ...entry.parsed, raw: entry.raw, errors: entry.errors }));
  return { version: all.version, digest: stateDigest(list), sites: list };
}

/** Reads one raw value (null when absent). */
export async function readValue(store: Store, kind: StateKind, site: string): Promise<string | null> {
  const key = store.keys.state(kind, assertSiteName(site));
  return (await store.readKeys([key])).values.get(key) ?? null;
}

/** Validates and writes a site's route (normalised), recorded in history. */
export async function setRoute(store: Store, site: string, url: string, options: WriteOptions = {}): Promise<WriteResult> {
  const route = parseRoute(url);
  return write(store, 'route', site, route.target, { action: 'route set', ...options });
}

/** Deletes a site's route, recorded in history. */
export async function deleteRoute(store: Store, site: string, options: WriteOptions = {}): Promise<WriteResult> {
  return write(store, 'route', site, null, { action: 'route delete', ...options });
}

/** Validates and writes a site's maintenance state (null turns maintenance off), recorded in history. */
export async function setMaintenance(
  store: Store,
  site: string,
  state: MaintenanceState | null,
  options: WriteOptions = {},
): Promise<WriteResult> {
  const value = state === null ? null : stringifyMaintenance(state);
  return write(store, 'maintenance', site, value, { action: state === null ? 'maintenance off' : 'maintenance on', ...options });
}

/** Writes a raw, already validated value of either kind (used by rollback to restore exact values). */
export async function writeRaw(
  store: Store,
  kind: StateKind,
  site: string,
  value: string | null,
  options: WriteOptions & { action: string },
): Promise<WriteResult> {
  if (value !== null) parseStateValue(kind, value);
  return write(store, kind, site, value, options);
}

function write(
  store: Store,
  kind: StateKind,
  site: string,
  value: string | null,
  options: WriteOptions & { action: string },
): Promise<WriteResult> {
  return store.write({
    kind,
    site: assertSiteName(site),
    value,
    actor: options.actor ?? defaultActor(),
    action: options.action,
    ...(options.expect !== undefined ? { expect: { value: options.expect } } : {}),
    ...(options.cutoverId ? { cutoverId: options.cutoverId } : {}),
  });
}

/** What a front end keeps serving while the store lost its state (`FrontEndReport.kept`). */
export interface KeptState {
  readonly version: number;
  /** Full key → raw value. */
  readonly values: Readonly<Record<string, string>>;
}

/** Options of restoreKeptState. */
export interface RestoreOptions {
  /** Who restores; default `user@host`. */
  actor?: string;
  /**
   * What the caller saw in the store for each kept key (full key → raw value, null: absent); keys
   * not listed must be absent, as after Redis came back empty. Any difference: ConflictError.
   */
  seen?: Readonly<Record<string, string | null>>;
  /** History verb; default `restore`. */
  action?: string;
}

/**
 * Writes back the state a front end kept while the store lost it (compare-and-set on every key,
 * one atomic batch) and raises the version above `kept.version`, so front ends follow the store
 * again without dropping anything. Two restores racing: one wins, the other gets ConflictError.
 */
export async function restoreKeptState(store: Store, kept: KeptState, options: RestoreOptions = {}): Promise<WriteResult[]> {
  const actor = options.actor ?? defaultActor();
  const changes: StateWrite[] = Object.entries(kept.values).map(([key, raw]) => {
    const parsed = store.keys.parseState(key);
    if (!parsed)
      throw new SwitchyardError('SWITCHYARD_ERR_INVALID_OPTION', `${key} is not a route or maintenance key of this store's prefix`);
    parseStateValue(parsed.kind, raw);
    return {
      kind: parsed.kind,
      site: parsed.site,
      value: raw,
      expect: { value: options.seen?.[key] ?? null },
      actor,
      action: options.action ?? 'restore',
    };
  });
  return store.writeBatch(changes, { versionAtLeast: kept.version + 1 });
}
