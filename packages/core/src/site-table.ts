import type { SwitchyardError } from './errors';
import type { KeyLayout, StateKind } from './keys';
import type { MaintenanceState } from './maintenance-state';
import type { Route } from './route';
import { parseStateValue, type SiteState, stateDigest } from './site-state';
import type { RawRead, RawState } from './store-types';

/** One site whose effective state changed (`state` undefined: the site has no state any more). */
export interface SiteChange {
  readonly site: string;
  readonly state: SiteState | undefined;
  readonly previous: SiteState | undefined;
}

/** A malformed value found in a read; the last good value stays in force. */
export interface InvalidValue {
  readonly key: string;
  readonly error: SwitchyardError;
}

/** The store came back without the state this table applies. */
export interface LostStateNotice {
  /** The store's version and how many state keys it holds. */
  readonly version: number;
  readonly keysInStore: number;
  /** What this table applies and keeps. */
  readonly appliedVersion: number;
  readonly sitesHeld: number;
}

/** What applying a read did, for the caller to announce (the table itself emits and logs nothing). */
export interface ApplyResult {
  /** True when the state in force changed (the digest may have changed, host resolutions are stale). */
  readonly changed: boolean;
  readonly changes: readonly SiteChange[];
  /** Malformed values met for the first time (a repeat of the same raw value is not reported again). */
  readonly invalid: readonly InvalidValue[];
  /** Set when a full read judged after an outage found the store without our state. */
  readonly lost?: LostStateNotice;
}

/**
 * The table of sites a front end serves, and the rules for applying reads to it: validation (the
 * last good value stays when a value is malformed), deletions seen by a full read, and the
 * lost-state rules. Pure: no I/O, no timers, no events; the Watcher feeds it reads and announces
 * the results. Unit-tested with a fake store in packages/core/test/site-table.test.ts.
 */
export class SiteTable {
  private readonly sites = new Map<string, SiteState>();
  /** Last raw value seen per key (good or bad), so a bad value is reported once and a repeat is free. */
  private readonly seenRaw = new Map<string, string>();
  /** Raw value of every value in force, for snapshots. */
  private readonly appliedRaw = new Map<string, string>();
  /** Keys whose stored value is malformed as last read. */
  private readonly invalid = new Set<string>();
  private stateVersion = 0;
  /** Computed when first asked for after a change (by the heartbeat, after the flip's reads): a hash is no part of applying. */
  private digestValue: string | undefined;
  /** Redis came back empty or older: full reads add and change but delete nothing until state is written again. */
  private keeping = false;

  constructor(private readonly keys: KeyLayout) {}

  /** Version of the state applied. */
  get version(): number {
    return this.stateVersion;
  }

  /** Digest of the state applied; see stateDigest. */
  get digest(): string {
    this.digestValue ??= stateDigest(this.sites.values());
    return this.digestValue;
  }

  /** State keys whose stored value is malformed as last read, sorted. */
  get invalidKeys(): string[] {
    return [...this.invalid].sort();
  }

  /** True while the table keeps state the store lost (until state is written to the store again). */
  get lostState(): boolean {
    return this.keeping;
  }

  /** True when `site` has state. */
  has(site: string): boolean {
    return this.sites.has(site);
  }

  site(name: string): SiteState | undefined {
    return this.sites.get(name);
  }

  allSites(): SiteState[] {
    return [...this.sites.values()];
  }

  /** The raw values in force and their version. */
  snapshot(): RawState {
    return { version: this.stateVersion, values: new Map(this.appliedRaw) };
  }

  /** Applies a saved snapshot (validated like any read). */
  seed(state: RawState): ApplyResult {
    return this.apply({ version: state.version, values: state.values });
  }

  /** Applies a read of some keys (`null`: the key is absent). */
  applyKeys(read: RawRead): ApplyResult {
    return this.apply(read);
  }

  /**
   * Applies a read of everything. Keys held here but absent from the read were deleted, unless the
   * store lost its state. `judgeLostState` (the first full read after an outage): a store whose
   * version went backwards, or that holds no state while sites are held here, lost the state; it
   * is kept (and the version held) until `stateWritten()`.
   */
  applyFull(all: RawState, options: { judgeLostState: boolean }): ApplyResult {
    let lost: LostStateNotice | undefined;
    if (options.judgeLostState) {
      const keysInStore = all.values.size;
      if (all.version < this.stateVersion || (keysInStore === 0 && this.sites.size > 0)) {
        this.keeping = true;
        lost = { version: all.version, keysInStore, appliedVersion: this.stateVersion, sitesHeld: this.sites.size };
      }
    }
    const read = new Map<string, string | null>(all.values);
    if (!this.keeping) for (const key of this.seenRaw.keys()) if (!read.has(key)) read.set(key, null);
    const result = this.apply({ version: this.keeping ? this.stateVersion : all.version, values: read });
    return lost ? { ...result, lost } : result;
  }

  /**
   * State keys were written in the store. While keeping lost state this means someone writes state
   * to the store again: from now on it is the truth, deletions included. True when that ends
   * keeping (the caller must then read everything).
   */
  stateWritten(): boolean {
    if (!this.keeping) return false;
    this.keeping = false;
    return true;
  }

  private apply(read: RawRead): ApplyResult {
    const changes: SiteChange[] = [];
    const invalid: InvalidValue[] = [];
    for (const [key, raw] of read.values) {
      const parsed = this.keys.parseState(key);
      if (parsed) this.applyValue(key, parsed.kind, parsed.site, raw, changes, invalid);
    }
    if (changes.length > 0) this.digestValue = undefined;
    this.stateVersion = read.version;
    return { changed: changes.length > 0, changes, invalid };
  }

  private applyValue(key: string, kind: StateKind, site: string, raw: string | null, changes: SiteChange[], invalid: InvalidValue[]): void {
    const previous = this.sites.get(site);
    if (raw === null) {
      this.invalid.delete(key);
      this.seenRaw.delete(key);
      this.appliedRaw.delete(key);
      if (!previous?.[kind]) return;
      const { [kind]: _removed, ...rest } = previous;
      changes.push(this.replace(site, rest, previous));
      return;
    }
    if (this.seenRaw.get(key) === raw) return;
    this.seenRaw.set(key, raw);
    let value: Route | MaintenanceState;
    try {
      value = parseStateValue(kind, raw);
    } catch (error) {
      this.invalid.add(key);
      invalid.push({ key, error: error as SwitchyardError });
      return;
    }
    this.invalid.delete(key);
    this.appliedRaw.set(key, raw);
    changes.push(this.replace(site, { ...(previous ?? { site }), [kind]: value }, previous));
  }

  private replace(site: string, next: SiteState, previous: SiteState | undefined): SiteChange {
    const empty = !next.route && !next.maintenance;
    if (empty) this.sites.delete(site);
    else this.sites.set(site, next);
    return { site, state: empty ? undefined : next, previous };
  }
}
