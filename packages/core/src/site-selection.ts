import type { IncomingMessage } from 'node:http';
import { DEFAULT_SITE } from './keys';
import type { Watcher } from './watcher';

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
