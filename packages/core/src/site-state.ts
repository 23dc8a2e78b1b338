import { createHash } from 'node:crypto';
import type { StateKind } from './keys';
import { type MaintenanceState, parseMaintenance } from './maintenance-state';
import { parseRoute, type Route } from './route';

/** Everything a front end knows about one site. */
export interface SiteState {
  readonly site: string;
  /** Absent: the site has no route, requests get a 502. */
  readonly route?: Route;
  /** Absent: the site is not in maintenance. */
  readonly maintenance?: MaintenanceState;
}

/** Parses a raw value of the given kind; throws a SwitchyardError when it is malformed. */
export function parseStateValue(kind: StateKind, raw: string): Route | MaintenanceState {
  return kind === 'route' ? parseRoute(raw) : parseMaintenance(raw);
}

/**
 * A short digest of the effective state of all sites. Front ends publish it and the CLI computes
 * it from Redis, so "converged" means "routes exactly what Redis says", even after a bare SET.
 */
export function stateDigest(sites: Iterable<SiteState>): string {
  const lines = [...sites]
    .filter((state) => state.route || state.maintenance)
    .map((state) => `${state.site}\t${state.route?.target ?? ''}\t${state.maintenance ? JSON.stringify(state.maintenance) : ''}`)
    .sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 12);
}
