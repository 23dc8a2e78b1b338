import type { Agent, ClientRequest, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isSwitchyardError, type Logger, SwitchyardError } from '@switchyard/core';
import { canonicalizeRequest, createSiteSelector, refuseUpgrade } from '@switchyard/core/internal';
import HttpProxy from 'http-proxy';
import { failureStatus, type ProxyFailure } from './error-page';
import { type ProxyOptions, type ResolvedProxyOptions, resolveProxyOptions } from './options';
import { UpstreamAgents } from './upstream-agents';

/** Where one request goes: the site it belongs to and that site's current target. */
export interface ProxyRoute {
  readonly site: string;
  readonly target: string;
}

/** The http-proxy options of one proxied request (also valid koa-proxies options). */
export interface UpstreamRequestOptions {
  readonly target: string;
  readonly agent: Agent;
  readonly xfwd: true;
  readonly changeOrigin: boolean;
}

/**
 * What the Koa, Express and plain `http` front doors share: target resolution from the watcher,
 * keep-alive agents, timeouts, in-flight counters, failure classification and logging, WebSockets.
 */
export class ProxyEngine {
  readonly options: ResolvedProxyOptions;
  /** The http-proxy instance for plain `http`/Express requests and for every WebSocket. */
  readonly httpProxy: HttpProxy;
  private readonly logger: Logger;
  private readonly selectSite: (req: IncomingMessage) => string | undefined;
  private readonly agents: UpstreamAgents;
  private readonly routes = new WeakMap<IncomingMessage, ProxyRoute>();
  /** Targets whose last exchange failed: the first failure of an outage is a warning, repeats are debug. */
  private readonly failingTargets = new Set<string>();
  /** Client sockets of open WebSocket tunnels, closed by close(). */
  private readonly tunnels = new Set<Duplex>();
  private readonly attachedServers = new Set<Server>();

  constructor(options: ProxyOptions) {
    this.options = resolveProxyOptions(options);
    this.logger = this.options.logger;
    this.selectSite = createSiteSelector(this.options.frontEnd.watcher, this.options);
    this.agents = new UpstreamAgents(this.options);
    this.httpProxy = HttpProxy.createProxyServer({});
    this.httpProxy.on('proxyReq', this.onProxyReq);
    this.httpProxy.on('proxyRes', this.onProxyRes);
    this.httpProxy.on('proxyReqWs', this.onProxyReqWs);
    // Every call passes a callback, so this only guards against http-proxy's own "no target" emit.
    this.httpProxy.on('error', (error) => this.logger.error({ err: error.message }, 'proxy error outside a request'));
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
   * Starts proxying `req` to `route`: counts it in flight until the response closes and returns the
   * http-proxy options for it.
   */
  dispatch(req: IncomingMessage, res: ServerResponse, route: ProxyRoute): UpstreamRequestOptions {
    this.routes.set(req, route);
    res.once('close', this.options.frontEnd.stats.begin(req.method));
    // Node's server has already answered `100 Continue`; forwarded, the header would also make
    // http-proxy skip its proxyReq event, and with it the upstream timeout.
    delete req.headers.expect;
    return { target: route.target, agent: this.agents.for(route.target), xfwd: true, changeOrigin: this.options.changeOrigin };
  }

  /** proxyReq handler: drops the client's hop-by-hop headers and bounds how long the upstream may stay silent. */
  readonly onProxyReq = (proxyReq: ClientRequest, req: IncomingMessage): void => {
    // A client's `Connection: close` (or HTTP/1.0) is about its own connection; forwarded, it would
    // make the upstream close every pooled connection after one request.
    if (!proxyReq.headersSent) {
      for (const name of hopByHopHeaders(req)) proxyReq.removeHeader(name);
    }
    this.limitSilence(proxyReq);
  };

  /** proxyRes handler: notes a recovered upstream and cuts the client off if the upstream dies mid-response. */
  readonly onProxyRes = (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void => {
    const route = this.routes.get(req);
    if (route && this.failingTargets.delete(route.target)) {
      this.logger.warn({ site: route.site, target: route.target }, 'upstream answering again');
    }
    proxyRes.once('close', () => {
      if (proxyRes.complete || res.destroyed) return;
      // Headers are out, so no error page is possible: an incomplete response must not look complete.
      this.noteFailure(
        req,
        new SwitchyardError('SWITCHYARD_ERR_ABORTED', 'the upstream closed the connection in the middle of its response'),
      );
      res.destroy();
    });
  };

  /**
   * Error callback of a proxied request: logs it and returns the failure to answer with, or undefined
   * when there is nobody to answer (client gone, or response already started; then it is destroyed).
   */
  fail(error: Error, req: IncomingMessage, res: ServerResponse): ProxyFailure | undefined {
    if (res.destroyed || req.socket.destroyed) {
      this.logger.debug({ ...this.describe(req), err: error.message }, 'client went away during a proxied request');
      return undefined;
    }
    const failure = this.noteFailure(req, error);
    if (res.headersSent) {
      res.destroy();
      return undefined;
    }
    return failure;
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
    this.routes.set(req, route);
    req.headers['x-forwarded-host'] ??= req.headers.host;
    const options = { target: route.target, xfwd: true, changeOrigin: this.options.changeOrigin };
    this.httpProxy.ws(req, socket, head, options, (error: Error) => {
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
   * Detaches from servers, closes open WebSocket tunnels and the upstream sockets (with any exchange
   * still running on them); call it once the server stopped accepting requests and they drained.
   */
  close(): void {
    for (const server of this.attachedServers) server.off('upgrade', this.upgrade);
    this.attachedServers.clear();
    for (const socket of this.tunnels) socket.destroy();
    this.agents.destroy();
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
    this.limitSilence(proxyReq);
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

  private limitSilence(proxyReq: ClientRequest): void {
    const { timeoutMs } = this.options;
    proxyReq.setTimeout(timeoutMs, () => {
      proxyReq.destroy(new SwitchyardError('SWITCHYARD_ERR_UPSTREAM_TIMEOUT', `the upstream sent nothing for ${timeoutMs} ms`));
    });
  }

  private noteFailure(req: IncomingMessage, error: Error): ProxyFailure {
    const failure: ProxyFailure = isSwitchyardError(error, 'SWITCHYARD_ERR_UPSTREAM_TIMEOUT') ? 'upstream_timeout' : 'upstream_unavailable';
    const route = this.routes.get(req);
    const fields = { ...this.describe(req), failure, code: (error as NodeJS.ErrnoException).code, err: error.message };
    if (route && !this.failingTargets.has(route.target)) {
      this.failingTargets.add(route.target);
      this.logger.warn(fields, 'upstream failed; answering 502/504 until it answers again');
    } else {
      this.logger.debug(fields, 'upstream failed');
    }
    return failure;
  }

  private describe(req: IncomingMessage): Record<string, unknown> {
    const route = this.routes.get(req);
    // The query string may carry tokens; the path is enough to find the request.
    const path = (req.url ?? '').split('?', 1)[0]!.slice(0, 200);
    return { site: route?.site, target: route?.target, method: req.method, path };
  }
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection'];

/** The headers of a request that concern only the client's connection (RFC 9110 §7.6.1). */
function hopByHopHeaders(req: IncomingMessage): string[] {
  const listed = (req.headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase());
  return [...HOP_BY_HOP, ...listed.filter((name) => name !== '' && name !== 'close' && name !== 'keep-alive')];
}
