import { SwitchyardError } from './errors';

/** Prefix of every key Switchyard owns, unless the operator picks another. */
export const DEFAULT_PREFIX = 'switchyard:';

/** The site used when none is named. */
export const DEFAULT_SITE = 'default';

/** The kinds of per-site state that front ends watch. */
export type StateKind = 'route' | 'maintenance';

/** Names of the keys under a prefix; the one place the Redis layout is spelled out. */
export interface KeyLayout {
  readonly prefix: string;
  route(site: string): string;
  maintenance(site: string): string;
  state(kind: StateKind, site: string): string;
  /** Bumped by every write made through Switchyard, so front ends can report what they apply. */
  readonly version: string;
  readonly history: string;
  front(id: string): string;
  readonly frontPattern: string;
  cutover(site: string): string;
  /** Prefixes whose changes front ends must hear about (never the heartbeats, which change every second). */
  readonly watchedPrefixes: readonly string[];
  /** Splits a full key into its kind and site, or undefined when it is not per-site state. */
  parseState(key: string): { kind: StateKind; site: string } | undefined;
}

const SITE_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9._-]{0,251}[a-z0-9])?$/;
const PREFIX_PATTERN = /^[A-Za-z0-9_.:{}-]{1,64}$/;

/** Throws unless `site` is a valid site name (lower-case host-like, optional leading `*.`). */
export function assertSiteName(site: string): string {
  if (!SITE_PATTERN.test(site)) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_SITE',
      `invalid site name ${JSON.stringify(site)}: use lower-case letters, digits, '.', '-' or '_' (optionally starting with '*.'), e.g. "shop" or "shop.example.com"`,
    );
  }
  return site;
}

/** True when `site` is a valid site name. */
export function isSiteName(site: string): boolean {
  return SITE_PATTERN.test(site);
}

/** Builds the key layout for `prefix` (default `switchyard:`). */
export function keyLayout(prefix: string = DEFAULT_PREFIX): KeyLayout {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_OPTION',
      `invalid key prefix ${JSON.stringify(prefix)}: use 1-64 characters from A-Z a-z 0-9 _ . : { } -, e.g. "switchyard:" or "staging:switchyard:"`,
    );
  }
  const routePrefix = `${prefix}route:`;
  const maintenancePrefix = `${prefix}maintenance:`;
  return {
    prefix,
    route: (site) => routePrefix + site,
    maintenance: (site) => maintenancePrefix + site,
    state: (kind, site) => (kind === 'route' ? routePrefix : maintenancePrefix) + site,
    version: `${prefix}version`,
    history: `${prefix}history`,
    front: (id) => `${prefix}front:${id}`,
    frontPattern: `${prefix}front:*`,
    cutover: (site) => `${prefix}cutover:${site}`,
    watchedPrefixes: [routePrefix, maintenancePrefix, `${prefix}version`],
    parseState(key) {
      if (key.startsWith(routePrefix)) return siteOf('route', key.slice(routePrefix.length));
      if (key.startsWith(maintenancePrefix)) return siteOf('maintenance', key.slice(maintenancePrefix.length));
      return undefined;
    },
  };
}

function siteOf(kind: StateKind, site: string): { kind: StateKind; site: string } | undefined {
  return isSiteName(site) ? { kind, site } : undefined;
}
