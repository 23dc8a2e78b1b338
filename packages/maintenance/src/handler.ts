import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  createLogger,
  DEFAULT_SITE,
  isSafeMethod,
  type Logger,
  type MaintenanceState,
  noteRequest,
  validateMaintenance,
  type Watcher,
} from '@switchyard/core';
import {
  applyAddedHeaders,
  badRequestResponse,
  type CanonicalRequest,
  canonicalizeRequest,
  canonicalizeTarget,
  createSiteSelector,
  HTTP_TOKEN,
  JSON_HEADERS,
  prefersJson,
  RequestStats,
  refuseUpgrade,
  safeJson,
  writeResponse,
} from '@switchyard/core/internal';
import { allowListOf } from './allow-list';
import { BypassCookies, unlockSecret } from './bypass-cookie';
import { type ClientAddress, createClientAddress } from './client-address';
import { HeldRequests } from './held-requests';
import { invalidOption, type MaintenanceOptions, type MaintenancePageInfo, pathOption, wholeNumber } from './options';
import { createPageRenderer } from './page';
import { type MaintenanceResponse, refusalResponse, refusalTiming } from './response';

/** What to do with a request: let it through, answer it, or nothing (the client disconnected while held). */
export type MaintenanceDecision =
  | { readonly action: 'pass' }
  | { readonly action: 'respond'; readonly response: MaintenanceResponse }
  | { readonly action: 'drop' };

type Outcome = MaintenanceDecision | { readonly action: 'refuse'; readonly site: string; readonly state: MaintenanceState };

/** What is being judged: an HTTP request (a write or not by its method), or a WebSocket handshake (always a write). */
type Attempt = 'request' | 'handshake';

const PASS: MaintenanceDecision = { action: 'pass' };
const DROP: MaintenanceDecision = { action: 'drop' };
const DAY_MS = 24 * 3600 * 1000;

/**
 * The maintenance logic shared by the Koa, Express/connect and plain `http` entry points. State is
 * read synchronously from the front end's watcher (or fixed, in static mode): no store round trip
 * per request.
 */
export class MaintenanceHandler {
  /** Refusal and hold counters: the front end's (published in its heartbeat), or private ones in static mode. */
  readonly stats: RequestStats;
  private readonly logger: Logger;
  private readonly lookup: (req: IncomingMessage) => { site: string; state: MaintenanceState } | undefined;
  private readonly watcher: Watcher | undefined;
  private readonly waiting: HeldRequests;
  private readonly client: ClientAddress;
  private readonly cookies: BypassCookies;
  private readonly renderPage: (info: MaintenancePageInfo) => string;
  private readonly healthPath: string;
  private readonly bypassPrefix: string;
  private readonly refresh: number | undefined;
  private readonly maxHeld: number;
  private readonly onChange = () => this.waiting.recheck();
  private closed = false;

  constructor(options: MaintenanceOptions) {
    const { frontEnd, enabled } = options;
    this.logger = options.logger ?? frontEnd?.logger ?? createLogger();
    this.stats = frontEnd?.stats ?? new RequestStats();
    if (enabled !== undefined) {
      if (frontEnd) throw invalidOption('pass either frontEnd (state from the store) or enabled (a fixed state), not both');
      const state = enabled === false ? undefined : validateMaintenance(enabled === true ? { mode: 'on' } : enabled);
      const site = typeof options.site === 'string' ? options.site : DEFAULT_SITE;
      this.lookup = () => (state ? { site, state } : undefined);
    } else if (frontEnd) {
      const watcher = frontEnd.watcher;
      const select = createSiteSelector(watcher, options);
      this.lookup = (req) => {
        const site = select(req);
        if (site === undefined) return undefined;
        const state = watcher.maintenance(site);
        return state ? { site, state } : undefined;
      };
      this.watcher = watcher;
    } else {
      throw invalidOption('pass frontEnd (maintenance state from the store) or enabled (a fixed state without a store)');
    }
    this.waiting = new HeldRequests(this.stats);
    this.client = createClientAddress(options.trustProxy);
    this.healthPath = pathOption(options.healthPath ?? '/healthz', 'healthPath');
    this.bypassPrefix = `${pathOption(options.bypassPath ?? '', 'bypassPath').replace(/\/+$/, '')}/`;
    this.refresh = options.refresh === undefined ? undefined : wholeNumber(options.refresh, 'refresh', 1, DAY_MS / 1000);
    this.maxHeld = wholeNumber(options.maxHeld ?? 1000, 'maxHeld', 0, 1_000_000);
    const cookieName = options.bypassCookieName ?? 'switchyard_bypass';
    if (!HTTP_TOKEN.test(cookieName)) throw invalidOption(`bypassCookieName ${JSON.stringify(cookieName)} is not a valid cookie name`);
    if (options.cookieDomain !== undefined && !/^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(options.cookieDomain)) {
      throw invalidOption(`cookieDomain ${JSON.stringify(options.cookieDomain)} is not a domain name`);
    }
    this.cookies = new BypassCookies({
      name: cookieName,
      ttlMs: wholeNumber(options.bypassTtlMs ?? DAY_MS / 2, 'bypassTtlMs', 1, 400 * DAY_MS),
      domain: options.cookieDomain,
    });
    this.renderPage = createPageRenderer(options.page, this.logger);
    // Subscribed last, so a constructor that throws on a bad option leaves no listener behind.
    if (this.watcher) {
      // One listener per middleware; a front end with many mounts is normal, not a leak.
      adjustMaxListeners(this.watcher, 1);
      this.watcher.on('change', this.onChange);
    }
  }

  /** Requests this middleware is holding now. */
  get held(): number {
    return this.waiting.size;
  }

  /**
   * Decides what to do with a request; a promise only while the request is held. First applies the
   * path rule (`canonicalizeRequest`, which rewrites `req.url` to what the proxy will forward): a
   * path it refuses is answered 400 whatever the state. `url` is the request target as the client
   * sent it (before any mount point was stripped), default `req.url`; it is judged by the same rule.
   */
  decide(req: IncomingMessage, res: ServerResponse, url?: string): MaintenanceDecision | Promise<MaintenanceDecision> {
    const canonical = judgedPath(req, url);
    if (!canonical.ok) return { action: 'respond', response: badRequestResponse(req, canonical.reason) };
    const { path } = canonical;
    const outcome = this.evaluate(req, path);
    if (outcome.action !== 'refuse') return outcome;
    const holdMs = outcome.state.hold ?? 0;
    // A fixed state never ends, so holding would only delay the 503.
    if (holdMs > 0 && this.watcher && !this.closed && this.waiting.size < this.maxHeld) return this.holdThenDecide(req, res, path, holdMs);
    return this.refuse(req, outcome.site, outcome.state);
  }

  /** Connect-style entry point (Express, connect, plain `http`): answers the request or calls `next()`, never both. */
  handle(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    let decision: MaintenanceDecision | Promise<MaintenanceDecision>;
    try {
      decision = this.decide(req, res, (req as IncomingMessage & { originalUrl?: string }).originalUrl);
    } catch (error) {
      next(error);
      return;
    }
    if (decision instanceof Promise) this.applyWhenSettled(decision, req, res, next);
    else apply(decision, req, res, next);
  }

  // Apart from handle(): its closures would make every call of handle() allocate their context, held or not.
  private applyWhenSettled(
    decision: Promise<MaintenanceDecision>,
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ): void {
    decision
      .then((settled) => apply(settled, req, res, next), next)
      .catch((error: Error) => {
        this.logger.error({ err: error.message }, 'the request failed after being held for maintenance');
        applyAddedHeaders(res);
        if (!res.headersSent) res.writeHead(500).end();
      });
  }

  /**
   * The proxy's `upgradeGuard`: judges a WebSocket handshake by the same rules as a request, as a
   * write, since the socket it opens can write (refused in `on` and `read-only` mode unless an
   * allowed path or IP, or a bypass cookie lets it through; the health path does not, health checks
   * are plain requests). Returns true to let it through; false once it has answered the refusal (status, Retry-After, no-store, no body) on the
   * socket and closed it. Handshakes are never held, and sockets already open are left alone. A
   * path the path rule refuses is answered 400, as for a request.
   */
  readonly guardUpgrade = (req: IncomingMessage, socket: Duplex): boolean => {
    const canonical = canonicalizeRequest(req);
    if (!canonical.ok) {
      refuseUpgrade(socket, 400, { 'Cache-Control': 'no-store' });
      return false;
    }
    const outcome = this.evaluate(req, canonical.path, 'handshake');
    if (outcome.action !== 'refuse') return true;
    this.stats.refuse();
    noteRequest(req, { site: outcome.site, maintenance: 'refused' });
    refuseUpgrade(socket, outcome.state.status ?? 503, refusalTiming(outcome.state, Date.now()).headers);
    return false;
  };

  /** Stops listening to the watcher; held requests are answered now (passed if maintenance is over, else refused). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watcher) {
      this.watcher.off('change', this.onChange);
      adjustMaxListeners(this.watcher, -1);
    }
    this.waiting.expireAll();
  }

  /** Judges the canonical `path` of `req` (never the raw target: see judgedPath). */
  private evaluate(req: IncomingMessage, path: string, attempt: Attempt = 'request'): Outcome {
    const current = this.lookup(req);
    if (!current) return PASS;
    const { site, state } = current;
    // Health checks are plain requests; a handshake to the health path would open a socket that can write.
    if (path === this.healthPath && attempt === 'request') return PASS;
    // The secret URL answers with a cookie and a redirect, which a WebSocket client cannot use: a handshake is judged like any path.
    if (state.secretHash && attempt === 'request') {
      const granted = this.grantBypass(req, path, site, state.secretHash);
      if (granted) return bypassed(req, site, granted);
    }
    if (state.mode === 'read-only' && attempt === 'request' && isSafeMethod(req.method)) return PASS;
    const allowList = allowListOf(state);
    if (allowList.allowsPath(path) || allowList.allowsIp(this.client.ip(req))) return bypassed(req, site, PASS);
    if (state.secretHash && this.cookies.verify(req.headers.cookie, site, state.secretHash, Date.now())) return bypassed(req, site, PASS);
    return { action: 'refuse', site, state };
  }

  /** `/<bypassPath>/<secret>` with the right secret: a signed cookie, and a redirect home for browsers. */
  private grantBypass(req: IncomingMessage, path: string, site: string, secretHash: string): MaintenanceDecision | undefined {
    if (!path.startsWith(this.bypassPrefix)) return undefined;
    const segment = path.slice(this.bypassPrefix.length);
    if (segment === '' || segment.includes('/')) return undefined;
    let candidate: string;
    try {
      candidate = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    const signingKey = unlockSecret(candidate, secretHash);
    if (!signingKey) return undefined;
    const cookie = this.cookies.issue(site, signingKey, this.client.https(req), Date.now());
    this.logger.info({ site, ip: this.client.ip(req) }, 'maintenance bypass cookie issued');
    const headers = { 'Cache-Control': 'no-store', 'Set-Cookie': cookie.header };
    if (prefersJson(req)) {
      const body = safeJson({ bypass: 'granted', expiresAt: new Date(cookie.expiresAt).toISOString() });
      return { action: 'respond', response: { status: 200, headers: { ...headers, ...JSON_HEADERS }, body } };
    }
    return { action: 'respond', response: { status: 302, headers: { ...headers, Location: '/' }, body: '' } };
  }

  private async holdThenDecide(req: IncomingMessage, res: ServerResponse, path: string, holdMs: number): Promise<MaintenanceDecision> {
    // Overwritten by `refused` if the wait ends with a refusal: metrics count each request once, by how it ended.
    noteRequest(req, { maintenance: 'held' });
    const end = await this.waiting.hold(res, holdMs, () => this.evaluate(req, path).action !== 'refuse');
    if (end === 'gone') return DROP;
    const outcome = this.evaluate(req, path);
    return outcome.action === 'refuse' ? this.refuse(req, outcome.site, outcome.state) : outcome;
  }

  private refuse(req: IncomingMessage, site: string, state: MaintenanceState): MaintenanceDecision {
    this.stats.refuse();
    noteRequest(req, { site, maintenance: 'refused' });
    const response = refusalResponse({
      site,
      state,
      json: prefersJson(req),
      now: Date.now(),
      refresh: this.refresh,
      renderPage: this.renderPage,
    });
    return { action: 'respond', response };
  }
}

/** Creates the shared maintenance handler; see MaintenanceOptions. */
export function createMaintenanceHandler(options: MaintenanceOptions): MaintenanceHandler {
  return new MaintenanceHandler(options);
}

/** Notes that maintenance let a request through on an allow-list, a bypass cookie or the secret URL. */
function bypassed<T extends Outcome>(req: IncomingMessage, site: string, outcome: T): T {
  noteRequest(req, { site, maintenance: 'bypassed' });
  return outcome;
}

function apply(decision: MaintenanceDecision, req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
  if (decision.action === 'pass') next();
  else if (decision.action === 'respond') writeResponse(req, res, decision.response);
}

/**
 * The path rule for `req`, whose `req.url` it rewrites to the canonical target. When the middleware
 * is mounted below a path, `url` (the whole target as sent: Express's `originalUrl`, Koa's
 * `ctx.originalUrl`) differs from `req.url`; the whole target is what the health path and the
 * allow-lists name, so it is judged, by the same rule.
 */
function judgedPath(req: IncomingMessage, url: string | undefined): CanonicalRequest {
  const raw = req.url;
  const result = canonicalizeRequest(req);
  if (!result.ok || url === undefined || url === raw || url === req.url) return result;
  const whole = canonicalizeTarget(url);
  return whole.ok ? { ok: true, path: whole.path } : whole;
}

function adjustMaxListeners(watcher: Watcher, delta: number): void {
  const max = watcher.getMaxListeners();
  if (max !== 0) watcher.setMaxListeners(max + delta);
}
