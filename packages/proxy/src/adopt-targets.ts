import type { IncomingMessage } from 'node:http';
import { type FrontEnd, type SiteSelectionOptions, SwitchyardError } from '@switchyard/core';
import { createSiteSelector } from '@switchyard/core/internal';

/**
 * Step one of adopting Switchyard in a front end that already proxies with koa-proxies or
 * http-proxy-middleware: keep that proxy, and let the target come from Switchyard instead of a
 * hard-coded URL. The target is read from the front end's in-memory watcher on every request (no
 * Redis round trip), so a flip moves the next request.
 */
export interface TargetLookupOptions extends SiteSelectionOptions {
  /** The running front end whose watcher says where each site goes. */
  frontEnd: FrontEnd;
}

/**
 * Thrown (and answered 502 by Koa and Express) when the request's site has no route. The `status` and
 * `statusCode` fields are what Koa's and Express's error handlers read; never 503, which means maintenance.
 */
export class NoTargetError extends SwitchyardError {
  /** 502: nothing to proxy to. */
  readonly status = 502;
  /** 502, for Express's final handler. */
  readonly statusCode = 502;
  /** 5xx messages are not shown to clients by Koa. */
  readonly expose = false;

  constructor(site: string | undefined) {
    super(
      'SWITCHYARD_ERR_NO_ROUTE',
      site === undefined
        ? 'no site matches this request; set `site`, or `fallbackSite` with `sitesByHost`'
        : `site ${site} has no route; set one with \`switchyard route set <url> --site ${site}\``,
    );
    this.name = 'NoTargetError';
  }
}

/** A synchronous `request → target URL` function; throws NoTargetError when the site has no route. */
export function createTargetLookup(options: TargetLookupOptions): (req: IncomingMessage) => string {
  const { watcher } = options.frontEnd;
  const select = createSiteSelector(watcher, options);
  return (req) => {
    const site = select(req);
    const route = site === undefined ? undefined : watcher.route(site);
    if (!route) throw new NoTargetError(site);
    return route.target;
  };
}

/**
 * http-proxy-middleware's `router` option, so an existing proxy follows Switchyard:
 *
 * ```ts
 * createProxyMiddleware({ target: 'http://127.0.0.1:3000', router: switchyardRouter({ frontEnd }) })
 * ```
 *
 * `target` stays required by http-proxy-middleware but is never used while the site has a route; with no
 * route the request fails with a 502 (NoTargetError) through Express's error handling.
 */
export function switchyardRouter(options: TargetLookupOptions): (req: IncomingMessage) => string {
  return createTargetLookup(options);
}

/** The part of a Koa context koa-proxies hands to its options function. */
export interface KoaProxiesContextLike {
  readonly req: IncomingMessage;
}

/**
 * koa-proxies' options function, so an existing proxy follows Switchyard:
 *
 * ```ts
 * app.use(proxy('/api', switchyardKoaProxiesOptions({ frontEnd }, { changeOrigin: true })));
 * ```
 *
 * Every other option (`rewrite`, `changeOrigin`, `events`…) is passed through as given. With no route the
 * request fails with a 502 (NoTargetError) through Koa's error handling.
 */
export function switchyardKoaProxiesOptions<Options extends object>(
  options: TargetLookupOptions,
  base?: Options,
): (params: unknown, ctx: KoaProxiesContextLike) => Options & { target: string } {
  const lookup = createTargetLookup(options);
  return (_params, ctx) => ({ ...(base as Options), target: lookup(ctx.req) });
}
