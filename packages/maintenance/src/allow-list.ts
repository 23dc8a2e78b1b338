import type { MaintenanceState } from '@switchyard/core';
import { ipMatcher } from '@switchyard/core/internal';

/** The pass-through rules of one maintenance state, compiled once. */
export interface AllowList {
  allowsIp(ip: string): boolean;
  allowsPath(path: string): boolean;
}

// States from the watcher are immutable and replaced on change, so compiling per object is exact.
const compiled = new WeakMap<MaintenanceState, AllowList>();

/** The compiled allow-list of a state (IPs/CIDRs; exact paths, or prefixes ending in `/` or `*`). */
export function allowListOf(state: MaintenanceState): AllowList {
  let list = compiled.get(state);
  if (!list) {
    list = { allowsIp: ipRule(state.allowIps ?? []), allowsPath: pathRule(state.allowPaths ?? []) };
    compiled.set(state, list);
  }
  return list;
}

function ipRule(ranges: readonly string[]): (ip: string) => boolean {
  if (ranges.length === 0) return () => false;
  try {
    return ipMatcher(ranges);
  } catch {
    // Validated states never get here; an unparsable list allows nobody rather than failing requests.
    return () => false;
  }
}

function pathRule(entries: readonly string[]): (path: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of entries) {
    if (entry.endsWith('*')) prefixes.push(entry.slice(0, -1));
    else if (entry.endsWith('/')) prefixes.push(entry);
    else exact.add(entry);
  }
  return (path) => exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix));
}
