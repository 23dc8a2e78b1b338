import type { IncomingMessage } from 'node:http';
import { DEFAULT_SITE } from './keys';
import type { Watcher } from './watcher';

const UNKNOWN = '';

/**
 * A bounded map that keeps what was used recently: two generations, each at most half the bound;
 * when the young one is full it becomes the old one and the old one is dropped, and a hit in the
 * old one moves the entry to the young one. Every operation is O(1), clear() included — a
 * preallocated LRU (lru-cache) pays O(bound) to clear, once per watcher on every state change,
 * which was most of a flip's CPU with hundreds of front ends in one process.
 */
export class TwoGenerationCache<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private readonly half: number;

  /** `bound`: most entries kept (at least 2). */
  constructor(bound: number) {
    this.half = Math.max(1, Math.floor(bound / 2));
  }

  /** Entries kept (a promoted entry may sit in both generations for a while, counted once each). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** The value for `key`, refreshing it as recently used. */
  get(key: string): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const older = this.old.get(key);
    if (older !== undefined) this.set(key, older);
    return older;
  }

  /** Keeps `value` for `key`. */
  set(key: string, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  /** Forgets everything. */
  clear(): void {
    if (this.young.size > 0) this.young = new Map();
    if (this.old.size > 0) this.old = new Map();
  }
}

/**
 * Maps a Host header to a site with state: the exact host name (port dropped, lower-cased, a
 * trailing dot removed), then `*.parent` wildcards. Results, including "unknown", are kept in a
 * bounded cache so random Host headers cannot grow memory; `clear()` when the set of sites changes.
 */
export class HostMatcher {
  private readonly cache: TwoGenerationCache<string>;

  /** `has` tells whether a site has state; `size` bounds the cached Host headers. */
  constructor(
    private readonly has: (site: string) => boolean,
    size = 10_000,
  ) {
    this.cache = new TwoGenerationCache(size);
  }

  /** How many Host headers are cached. */
  get size(): number {
    return this.cache.size;
  }

  /** The site for a Host header, or undefined. */
  resolve(host: string | undefined): string | undefined {
    if (!host || host.length > 260) return undefined;
    const cached = this.cache.get(host);
    if (cached !== undefined) return cached === UNKNOWN ? undefined : cached;
    const resolved = this.match(host);
    this.cache.set(host, resolved ?? UNKNOWN);
    return resolved;
  }

  /** Forgets every cached resolution. */
  clear(): void {
    this.cache.clear();
  }

  private match(host: string): string | undefined {
    let name = host.toLowerCase();
    name = name.startsWith('[') ? name.slice(0, name.indexOf(']') + 1) : name.replace(/:\d*$/, '');
    name = name.replace(/\.$/, '');
    if (this.has(name)) return name;
    for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
      const wildcard = `*${name.slice(dot)}`;
      if (this.has(wildcard)) return wildcard;
    }
    return undefined;
  }
}

/** Which site a request belongs to: shared by the proxy and the maintenance middleware. */
export interface SiteSelectionOptions {
  /** A fixed site name, or a function of the request. Default `default` unless `sitesByHost` is set. */
  site?: string | ((req: IncomingMessage) => string | undefined);
  /** Derive the site from the Host header (exact host, then `*.parent` wildcards). */
  sitesByHost?: boolean;
  /** Site used when the Host header matches none (with `sitesByHost`); none by default, so unknown hosts get a 502. */
  fallbackSite?: string;
}

/** Builds a synchronous `request → site name` function; undefined means "no site". */
export function createSiteSelector(watcher: Watcher, options: SiteSelectionOptions = {}): (req: IncomingMessage) => string | undefined {
  const { site, sitesByHost, fallbackSite } = options;
  if (typeof site === 'function') return site;
  if (typeof site === 'string') return () => site;
  if (sitesByHost) return (req) => watcher.resolveHost(req.headers.host) ?? fallbackSite;
  return () => DEFAULT_SITE;
}
