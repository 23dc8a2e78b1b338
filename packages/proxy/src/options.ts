import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { assertSiteName, type FrontEnd, type Logger, type SiteSelectionOptions, SwitchyardError } from '@switchyard/core';
import type { ProxyHooks } from './hooks';
import {
  compilePathFilter,
  compilePathRewrite,
  type PathFilter,
  type PathRewrite,
  type RequestFilter,
  type Rewriter,
} from './request-shaping';

/**
 * Decides whether a WebSocket handshake may go on to the upstream: `true` lets it through; `false`
 * means the guard has already answered the client and closed the socket (e.g. the maintenance
 * middleware's `handler.guardUpgrade`, which refuses handshakes with a 503 during maintenance).
 */
export type UpgradeGuard = (req: IncomingMessage, socket: Duplex) => boolean;

/** Options of the proxy, the same for Koa, Express/connect and plain `http`. */
export interface ProxyOptions extends SiteSelectionOptions {
  /** The running front end: its watcher says where each site goes, its counters get the requests in flight. */
  frontEnd: FrontEnd;
  /** Send the target's host as `Host` instead of the client's. Default false (the upstream sees the original Host). */
  changeOrigin?: boolean;
  /**
   * How long the upstream may stay silent while connecting, while the request body uploads, and from
   * the request's end to the response head, before the request fails with a 504 (mid-response silence
   * is `streamIdleTimeoutMs`'s). Checked on a timer of a quarter of the shortest deadline (10 ms to 1 s),
   * so kept to within that. Default 30 000 ms.
   */
  timeoutMs?: number;
  /**
   * Most connections open to one upstream origin at once; more requests wait for a free one. Default 256;
   * `Infinity` for no limit.
   */
  maxSockets?: number;
  /** Most idle connections kept per upstream origin for reuse; more are closed as they free up. Default 256. */
  maxFreeSockets?: number;
  /**
   * How long an idle keep-alive socket to an upstream is kept. Shorter than the upstream's own keep-alive
   * timeout (5 s for Node servers), so a request never goes out on a socket the upstream is closing; an
   * upstream announcing `Keep-Alive: timeout=N` has its connections closed a second before that. A GET,
   * HEAD or OPTIONS that still meets a connection closed under it goes again on a new one. Default 4000 ms.
   */
  idleSocketTimeoutMs?: number;
  /**
   * Runs before every WebSocket handshake is proxied, whether through `attach(server)` or the `upgrade`
   * listener, so maintenance can refuse new sockets: `upgradeGuard: maintenance.handler.guardUpgrade`.
   */
  upgradeGuard?: UpgradeGuard;
  /** Default: the front end's logger. */
  logger?: Logger;
  /**
   * How long an upstream may stay silent between two chunks of a response that has started (an SSE
   * stream, a long poll that sent its head). Default 0: no limit, so quiet streams are never cut;
   * `timeoutMs` still bounds the wait for the response head. A client that leaves ends the exchange.
   */
  streamIdleTimeoutMs?: number;
  /** Which requests this proxy handles; the others go to `next()` (404 from the plain handler). See PathFilter. */
  pathFilter?: PathFilter;
  /** Changes the forwarded path and query, as http-proxy-middleware's option of the same name. See PathRewrite. */
  pathRewrite?: PathRewrite;
  /** Hooks into each exchange: `proxyReq`, `proxyRes`, `error` (http-proxy-middleware's names). */
  on?: ProxyHooks;
}

/** Options after defaults and validation. */
export interface ResolvedProxyOptions extends SiteSelectionOptions {
  readonly frontEnd: FrontEnd;
  readonly changeOrigin: boolean;
  readonly timeoutMs: number;
  readonly maxSockets: number;
  readonly maxFreeSockets: number;
  readonly idleSocketTimeoutMs: number;
  readonly upgradeGuard: UpgradeGuard | undefined;
  readonly logger: Logger;
  readonly streamIdleTimeoutMs: number;
  readonly pathFilter: RequestFilter | undefined;
  readonly pathRewrite: Rewriter | undefined;
  readonly on: ProxyHooks | undefined;
}

/** Applies defaults; throws SWITCHYARD_ERR_INVALID_OPTION (or SWITCHYARD_ERR_INVALID_SITE) when an option cannot work. */
export function resolveProxyOptions(options: ProxyOptions): ResolvedProxyOptions {
  if (!options?.frontEnd?.watcher) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_OPTION',
      'the proxy needs a running front end: pass { frontEnd: await createFrontEnd({ store }) }',
    );
  }
  if (typeof options.site === 'string') assertSiteName(options.site);
  if (options.fallbackSite !== undefined) assertSiteName(options.fallbackSite);
  if (options.upgradeGuard !== undefined && typeof options.upgradeGuard !== 'function') {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_OPTION',
      'upgradeGuard must be a function (req, socket) => boolean, e.g. maintenance.handler.guardUpgrade',
    );
  }
  return {
    site: options.site,
    sitesByHost: options.sitesByHost,
    fallbackSite: options.fallbackSite,
    frontEnd: options.frontEnd,
    changeOrigin: options.changeOrigin ?? false,
    timeoutMs: positive('timeoutMs', options.timeoutMs, 30_000),
    maxSockets: positive('maxSockets', options.maxSockets, 256),
    maxFreeSockets: positive('maxFreeSockets', options.maxFreeSockets, 256),
    idleSocketTimeoutMs: positive('idleSocketTimeoutMs', options.idleSocketTimeoutMs, 4000),
    upgradeGuard: options.upgradeGuard,
    logger: options.logger ?? options.frontEnd.logger,
    streamIdleTimeoutMs: options.streamIdleTimeoutMs === 0 ? 0 : positive('streamIdleTimeoutMs', options.streamIdleTimeoutMs, 0),
    pathFilter: compilePathFilter(options.pathFilter),
    pathRewrite: compilePathRewrite(options.pathRewrite),
    on: hooks(options.on),
  };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || (Number.isFinite(value) && !Number.isInteger(value))) {
    throw new SwitchyardError('SWITCHYARD_ERR_INVALID_OPTION', `${name} must be a positive whole number, not ${JSON.stringify(value)}`);
  }
  return value;
}

function hooks(on: ProxyHooks | undefined): ProxyHooks | undefined {
  if (on === undefined) return undefined;
  for (const [name, hook] of Object.entries(on)) {
    if (!['proxyReq', 'proxyRes', 'error'].includes(name) || typeof hook !== 'function') {
      throw new SwitchyardError(
        'SWITCHYARD_ERR_INVALID_OPTION',
        `on.${name} is not a hook: use on.proxyReq, on.proxyRes or on.error, each a function`,
      );
    }
  }
  return on.proxyReq || on.proxyRes || on.error ? on : undefined;
}
