// Over 300 lines on purpose: the engine is the one place a proxied request goes through (route,
// filter, body, hooks, dispatch, failures, the upload cut, WebSockets); the parts that stand alone are
// beside it (exchange.ts, headers.ts, request-shaping.ts, hooks.ts, uploading-writes.ts, upstream-pools.ts).
import type { ClientRequest, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isSwitchyardError, type Logger, noteRequest, SwitchyardError, type UpstreamFailureKind } from '@switchyard/core';
import {
  applyAddedHeaders,
  canonicalizeRequest,
  createSiteSelector,
  messageResponse,
  refuseUpgrade,
  writeResponse,
} from '@switchyard/core/internal';
import HttpProxy from 'http-proxy';
import { failureStatus, type ProxyFailure, sendFailure } from './error-page';
import { CLIENT_GONE, Exchange, type ExchangeOwner } from './exchange';
import { upstreamRequestHeaders, withContentLength } from './headers';
import { toFlatHeaders, toHeaderMap, type UpstreamRequest } from './hooks';
import { type ProxyOptions, type ResolvedProxyOptions, resolveProxyOptions } from './options';
import { type Rewriter, requestBody } from './request-shaping';
import { CUT_FOR_MAINTENANCE, UploadingWrites } from './uploading-writes';
import { isOriginForm, requestHeadProblem } from './upstream-client';
import { UpstreamPools } from './upstream-pools';

/** Where one request goes: the site it belongs to and that site's current target. */
export interface ProxyRoute {
  readonly site: string;
  readonly target: string;
}

/**
 * The one forwarding engine under the plain `http`, Express and Koa adapters: target resolution from
 * the watcher, pooled upstream connections (upstream-client.ts), header rules, timeouts, in-flight counters,
 * failure classification and logging, WebSockets (a raw socket pipe through http-proxy's `ws`).
 */
export class ProxyEngine implements ExchangeOwner {
  readonly options: ResolvedProxyOptions;
  private readonly logger: Logger;
  private readonly selectSite: (req: IncomingMessage) => string | undefined;
  private readonly pools: UpstreamPools;
  /** Only for WebSocket handshakes; HTTP requests go through the pools. */
  private readonly wsProxy: HttpProxy;
  /** Sites of WebSocket handshakes, for their log lines. */
  private readonly wsRoutes = new WeakMap<IncomingMessage, ProxyRoute>();
  /** Targets whose last exchange failed: the first failure of an outage is a warning, repeats are debug. */
  private readonly failingTargets = new Set<string>();
  /** Client sockets of open WebSocket tunnels, closed by close(). */
  private readonly tunnels = new Set<Duplex>();
  private readonly attachedServers = new Set<Server>();
  /** Writes whose body is still arriving: cut when their site enters maintenance. */
  private readonly uploads: UploadingWrites;
  /** The first request refused for a consumed body is a warning; the rest are debug. */
  private consumedBodyReported = false;

  constructor(options: ProxyOptions) {
    this.options = resolveProxyOptions(options);
    this.logger = this.options.logger;
    this.selectSite = createSiteSelector(this.options.frontEnd.watcher, this.options);
    this.pools = new UpstreamPools(this.options);
    this.uploads = new UploadingWrites(this.options.frontEnd.watcher);
    this.wsProxy = HttpProxy.createProxyServer({});
    this.wsProxy.on('proxyReqWs', this.onProxyReqWs);
    // Every call passes a callback, so this only guards against http-proxy's own "no target" emit.
    this.wsProxy.on('error', (error) => this.logger.error({ err: error.message }, 'proxy error outside a request'));
  }

  /**
   * The request's site and target, read from memory; a failure when the path rule refuses the target
   * (which it rewrites to the canonical form forwarded), or the site is unknown or has no route.
   */
  route(req: IncomingMessage): ProxyRoute | ProxyFailure {
    if (!canonicalizeRequest(req).ok) return 'bad_request';
    const site = this.selectSite(req);
    if (site === undefined) return 'no_site';
    const route = this.options.frontEnd.watcher.route(site);
    return route ? { site, target: route.target } : 'no_route';
  }

  /**
   * Whether this proxy handles the request (its `pathFilter`, judged on the canonical path); the path
   * rule's refusals are handled, so they are answered 400 rather than passed on.
   */
  accepts(req: IncomingMessage): boolean {
    const filter = this.options.pathFilter;
    if (!filter || !canonicalizeRequest(req).ok) return true;
    // req.url rather than the remembered canonical path: a framework may have removed a mount prefix since.
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    return filter(query === -1 ? url : url.slice(0, query), req);
  }

  /**
   * Proxies one request to its site's current target; answers 502/504 itself when that fails. A request
   * outside `pathFilter` goes to `next` (a 404 without one).
   */
  readonly handle = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void => {
    if (!this.accepts(req)) {
      if (next) next();
      else sendFailure(req, res, 'not_proxied');
      return;
    }
    const route = this.route(req);
    if (typeof route === 'string') {
      sendFailure(req, res, route);
      return;
    }
    this.forward(req, res, route.site, route.target);
  };

  /** Forwards `req` to `target`, counting it in flight until the client's response closes. */
  private forward(req: IncomingMessage, res: ServerResponse, site: string, target: string): void {
    noteRequest(req, { site, target });
    const body = requestBody(req);
    if (body.kind === 'consumed') {
      this.refuseConsumedBody(req, res, site, body.contentType);
      return;
    }
    const upstream = this.pools.for(target);
    const { pathRewrite, on } = this.options;
    // route() ran the path rule: req.url is the canonical origin-form target.
    const url = pathRewrite ? this.rewrite(req, pathRewrite) : (req.url ?? '/');
    let headers = upstreamRequestHeaders(req, { targetHost: upstream.host, changeOrigin: this.options.changeOrigin });
    if (body.kind === 'resend') headers = withContentLength(headers, body.body.length);
    let method = req.method ?? 'GET';
    let path = upstream.pathPrefix + url;
    if (on?.proxyReq) {
      const upstreamRequest: UpstreamRequest = { method, path, headers: toHeaderMap(headers) };
      on.proxyReq(upstreamRequest, req, res);
      ({ method, path } = upstreamRequest);
      headers = toFlatHeaders(upstreamRequest.headers);
      // The pool writes heads as given: a hook's CR/LF must not become a second request upstream.
      const problem = requestHeadProblem(method, path, headers);
      if (problem) {
        this.logger.error({ site, method, problem }, 'on.proxyReq made a request that cannot be sent; answering 502');
        sendFailure(req, res, 'upstream_unavailable');
        return;
      }
    }
    const done = this.options.frontEnd.stats.begin(req.method, target);
    const exchange = new Exchange(this, req, res, site, target, done);
    if (body.kind === 'stream') this.uploads.track(exchange);
    upstream.pool.dispatch(
      {
        method,
        path,
        headers,
        body: body.kind === 'stream' ? req : body.kind === 'resend' ? body.body : null,
      },
      exchange,
    );
  }

  /** pathRewrite's result, which must be an origin-form target; a rule that breaks it is a configuration error, logged. */
  private rewrite(req: IncomingMessage, rewriter: Rewriter): string {
    const url = req.url ?? '/';
    const rewritten = rewriter(url, req);
    if (typeof rewritten === 'string' && isOriginForm(rewritten)) return rewritten;
    this.logger.error(
      { path: url.split('?', 1)[0], rewritten: String(rewritten).slice(0, 200) },
      'pathRewrite must return a path starting with "/", without spaces or control characters; forwarding the path unchanged',
    );
    return url;
  }

  /**
   * A body parser mounted before the proxy read a body that cannot be rebuilt: answer now (waiting for
   * the body would hang until the timeout and blame the upstream) and say once how to fix it.
   */
  private refuseConsumedBody(req: IncomingMessage, res: ServerResponse, site: string, contentType: string): void {
    const fields = { site, method: req.method, contentType, code: 'SWITCHYARD_ERR_BODY_CONSUMED' };
    const fix =
      'a body parser read the request body before the proxy; mount body parsers after the proxy (JSON and URL-encoded bodies are re-sent, others cannot be)';
    if (this.consumedBodyReported) this.logger.debug(fields, fix);
    else this.logger.warn(fields, fix);
    this.consumedBodyReported = true;
    sendFailure(req, res, 'body_consumed');
  }

  answered(exchange: Exchange): void {
    if (this.failingTargets.size > 0 && this.failingTargets.delete(exchange.target)) {
      this.logger.warn({ site: exchange.site, target: exchange.target }, 'upstream answering again');
    }
  }

  failed(exchange: Exchange, error: Error, clientGone: boolean): void {
    const { req, res } = exchange;
    if (error === CUT_FOR_MAINTENANCE) {
      this.cutForMaintenance(exchange);
      return;
    }
    if (clientGone) {
      if (error !== CLIENT_GONE)
        this.logger.debug({ ...this.describe(exchange), err: error.message }, 'client went away during a proxied request');
      return;
    }
    const failure = this.noteFailure(req, error, exchange);
    // Once the head is out no error page is possible: an incomplete response must not look complete.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (this.options.on?.error) {
      // A hook writing its own error response still carries the front door's headers (X-Request-Id).
      applyAddedHeaders(res);
      this.options.on.error(error, req, res);
    }
    if (!res.headersSent && !res.writableEnded) sendFailure(req, res, failure);
  }

  /**
   * A write still uploading when maintenance started: answered as maintenance refuses writes (503,
   * `Retry-After`), and the connection closed, since the rest of its body will not be read.
   */
  private cutForMaintenance(exchange: Exchange): void {
    const { req, res } = exchange;
    this.logger.info({ ...this.describe(exchange) }, 'write cut: maintenance started while its body was still arriving');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const socket = req.socket;
    res.setHeader('connection', 'close');
    writeResponse(
      req,
      res,
      messageResponse(req, {
        status: 503,
        error: 'maintenance',
        title: 'Down for maintenance',
        message: 'Maintenance started while this request was being sent; it was not processed. Please try again shortly.',
        headers: { 'Retry-After': '5' },
      }),
    );
    res.once('finish', () => socket.destroy());
  }

  /** Proxies a WebSocket upgrade, once the upgradeGuard (if any) lets it through, to the current target of the request's site. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node hands over upgraded sockets without an error listener; an unhandled one would crash the process.
    socket.on('error', (error) => this.logger.debug({ ...this.describe(req), err: error.message }, 'WebSocket client socket error'));
    // With an upgrade listener Node hands over every `Upgrade:` request (e.g. curl's h2c); answer them
    // plainly rather than let http-proxy reset the connection.
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      refuseUpgrade(socket, 400);
      return;
    }
    // The path rule before the guard, so the guard judges the target that is forwarded.
    if (!canonicalizeRequest(req).ok) {
      refuseUpgrade(socket, 400, { 'Cache-Control': 'no-store' });
      return;
    }
    if (!this.admitUpgrade(req, socket)) return;
    const route = this.route(req);
    if (typeof route === 'string') {
      this.logger.debug({ ...this.describe(req), failure: route }, 'WebSocket refused: no target');
      refuseUpgrade(socket, failureStatus(route));
      return;
    }
    this.wsRoutes.set(req, route);
    noteRequest(req, route);
    req.headers['x-forwarded-host'] ??= req.headers.host;
    const options = { target: route.target, xfwd: true, changeOrigin: this.options.changeOrigin };
    this.wsProxy.ws(req, socket, head, options, (error: Error) => {
      if (socket.destroyed) return;
      const failure = this.noteFailure(req, error);
      if (this.tunnels.has(socket)) socket.destroy();
      else refuseUpgrade(socket, failureStatus(failure));
    });
  };

  /** Sends the server's WebSocket upgrades through the proxy. */
  attach(server: Server): void {
    if (this.attachedServers.has(server)) return;
    this.attachedServers.add(server);
    server.on('upgrade', this.upgrade);
  }

  /**
   * Detaches from servers, closes open WebSocket tunnels and the upstream connections (with any exchange
   * still running on them); call it once the server stopped accepting requests and they drained.
   */
  close(): void {
    for (const server of this.attachedServers) server.off('upgrade', this.upgrade);
    this.attachedServers.clear();
    for (const socket of this.tunnels) socket.destroy();
    this.pools.destroy();
    this.uploads.close();
  }

  /** Runs the upgradeGuard; a guard that throws is logged and the handshake answered 500, so it cannot crash the server. */
  private admitUpgrade(req: IncomingMessage, socket: Duplex): boolean {
    const guard = this.options.upgradeGuard;
    if (!guard) return true;
    try {
      return guard(req, socket);
    } catch (error) {
      this.logger.error({ ...this.describe(req), err: (error as Error).message }, 'WebSocket refused: the upgradeGuard threw');
      refuseUpgrade(socket, 500);
      return false;
    }
  }

  private readonly onProxyReqWs = (proxyReq: ClientRequest, _req: IncomingMessage, socket: Socket): void => {
    const { timeoutMs } = this.options;
    proxyReq.setTimeout(timeoutMs, () => {
      proxyReq.destroy(new SwitchyardError('SWITCHYARD_ERR_UPSTREAM_TIMEOUT', `the upstream sent nothing for ${timeoutMs} ms`));
    });
    const abandon = () => proxyReq.destroy();
    socket.once('close', abandon);
    proxyReq.once('upgrade', (_res: IncomingMessage, upstream: Socket) => {
      this.tunnels.add(socket);
      socket.off('close', abandon);
      socket.once('close', () => {
        this.tunnels.delete(socket);
        upstream.destroy();
      });
      upstream.once('close', () => socket.destroy());
    });
  };

  private noteFailure(req: IncomingMessage, error: Error, exchange?: Exchange): ProxyFailure {
    const code = (error as NodeJS.ErrnoException).code;
    const kind = failureKind(error, code);
    noteRequest(req, { upstreamFailure: kind });
    const failure: ProxyFailure = kind === 'timeout' ? 'upstream_timeout' : 'upstream_unavailable';
    const target = exchange?.target ?? this.wsRoutes.get(req)?.target;
    const fields = { ...this.describe(exchange ?? req), failure, code, err: error.message };
    if (target !== undefined && !this.failingTargets.has(target)) {
      this.failingTargets.add(target);
      this.logger.warn(fields, 'upstream failed; answering 502/504 until it answers again');
    } else {
      this.logger.debug(fields, 'upstream failed');
    }
    return failure;
  }

  private describe(of: IncomingMessage | Exchange): Record<string, unknown> {
    const req = of instanceof Exchange ? of.req : of;
    const route = of instanceof Exchange ? of : this.wsRoutes.get(req);
    // The query string may carry tokens; the path is enough to find the request.
    const path = (req.url ?? '').split('?', 1)[0]!.slice(0, 200);
    return { site: route?.site, target: route?.target, method: req.method, path };
  }
}

function failureKind(error: Error, code: string | undefined): UpstreamFailureKind {
  if (code === 'ECONNREFUSED') return 'refused';
  if (isSwitchyardError(error, 'SWITCHYARD_ERR_UPSTREAM_TIMEOUT')) return 'timeout';
  return 'reset';
}
