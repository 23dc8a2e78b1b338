import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { type FrontEnd, type Logger, type SiteSelectionOptions, SwitchyardError, shutDownGracefully } from '@switchyard/core';
import { addResponseHeader, applyAddedHeaders, canonicalizeRequest } from '@switchyard/core/internal';
import { createMaintenanceHandler, type MaintenanceHandler, type MaintenanceOptions, type TrustProxy } from '@switchyard/maintenance';
import { type AccessLogDestination, createAccessLog, type RequestObserver } from './access-log';
import type { ProxyOptions } from './options';
import { createProxyHandler, type ProxyHandler } from './proxy-handler';
import { checkInterval, resolveTimeouts, type ServerTimeouts } from './server-timeouts';

/** Maintenance options the front door passes on (site selection, trust and the health path are the front door's own). */
export type FrontDoorMaintenanceOptions = Omit<
  MaintenanceOptions,
  'frontEnd' | 'enabled' | 'site' | 'sitesByHost' | 'fallbackSite' | 'trustProxy' | 'healthPath' | 'logger'
>;

/** Proxy options the front door passes on. */
export type FrontDoorProxyOptions = Omit<ProxyOptions, 'frontEnd' | 'site' | 'sitesByHost' | 'fallbackSite' | 'upgradeGuard' | 'logger'>;

/** Options of createFrontDoor. */
export interface FrontDoorOptions extends SiteSelectionOptions {
  /** The running front end (state, counters, heartbeat). The front door closes it on close(). */
  frontEnd: FrontEnd;
  /** Default: the front end's logger. */
  logger?: Logger;
  /** Whom to believe about the client's address (maintenance's allow-list, the access log). Default false. */
  trustProxy?: TrustProxy;
  /**
   * A path the front door answers itself, never forwarded: 200 with `{"status":"ready",…}` once the
   * first sync with the store is done, 503 before it and while stopping. Default `/healthz`; '' disables it.
   */
  healthPath?: string;
  /** Options of the maintenance handler; `false` mounts no maintenance at all. */
  maintenance?: FrontDoorMaintenanceOptions | false;
  /** Options of the proxy. */
  proxy?: FrontDoorProxyOptions;
  /**
   * Give every request an id: the client's `X-Request-Id` when it is a plain token (letters, digits,
   * `._:@/+=-`, up to 128), else a new UUID. It is forwarded upstream and returned in the response. Default true.
   */
  requestId?: boolean;
  /** Write an access log (one JSON line per request) here. Default: none. */
  accessLog?: AccessLogDestination;
  /** Called when each request arrives, before anything answers it (e.g. the `observe` of `@switchyard/metrics`). */
  observers?: readonly RequestObserver[];
  /** Deadlines of servers made by listen() (and by serverOptions()). */
  timeouts?: ServerTimeouts;
}

/** What the health endpoint answers. */
export interface FrontDoorHealth {
  /** `ready` after the first sync with the store; `starting` before it; `stopping` once close() was called. */
  readonly status: 'ready' | 'starting' | 'stopping';
  readonly frontEnd: string;
  /** Whether the store is reachable now (when it is not, the last good state is served: still ready). */
  readonly redis: 'connected' | 'disconnected';
  /** Version of the state applied. */
  readonly version: number;
  /** State keys whose value in Redis is invalid; the last good value of each is served. */
  readonly invalidKeys: readonly string[];
  /** True while the front end keeps state Redis lost (restarted empty): still ready, it serves what it had. */
  readonly lostState: boolean;
}

/** Where listen() listens, and with which certificate. */
export interface FrontDoorListenOptions {
  port: number;
  host?: string;
  /** PEM certificate chain and key: serve HTTPS. Replace them later with `server.setSecureContext()`. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/**
 * A complete front end on plain `node:http`: health endpoint → maintenance → proxy, WebSockets
 * behind maintenance's upgrade guard, request ids, access log and observers, public-server
 * timeouts, graceful shutdown.
 */
export interface FrontDoor {
  /** The request listener: `http.createServer(door.serverOptions(), door.handle)`, then `door.attach(server)`. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** The `upgrade` listener (maintenance's guard, then the WebSocket proxy). */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** The maintenance handler, or undefined with `maintenance: false`. */
  readonly maintenance: MaintenanceHandler | undefined;
  readonly proxy: ProxyHandler;
  /** What the health endpoint would answer now. */
  health(): FrontDoorHealth;
  /** `http.createServer` options carrying the deadlines of the `timeouts` option (the check interval can only be set there). */
  serverOptions(): ServerOptions;
  /** Makes `server` the front door's: WebSocket upgrades, keep-alive timeout; close() shuts it down. One server per front door. */
  attach(server: Server): void;
  /** Creates the server (HTTPS with `tls`), attaches it and listens; rejects when the address cannot be bound. */
  listen(options: FrontDoorListenOptions): Promise<Server | TlsServer>;
  /**
   * Graceful shutdown: the health endpoint says `stopping`, the server stops accepting, held requests
   * are answered, proxied requests get `graceMs` (default 10 000) to finish, then WebSockets and the
   * upstream sockets close and the front end's heartbeat is removed.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Wires a front end for a plain `node:http` (or `https`) server. `switchyard serve` is this plus flags. */
export function createFrontDoor(options: FrontDoorOptions): FrontDoor {
  const { frontEnd } = options;
  if (!frontEnd?.watcher) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_OPTION',
      'the front door needs a running front end: { frontEnd: await createFrontEnd({ store }) }',
    );
  }
  const logger = options.logger ?? frontEnd.logger;
  const selection: SiteSelectionOptions = { site: options.site, sitesByHost: options.sitesByHost, fallbackSite: options.fallbackSite };
  const healthPath = options.healthPath ?? '/healthz';
  if (healthPath !== '' && !/^\/[^?#\s]*$/.test(healthPath)) {
    throw new SwitchyardError('SWITCHYARD_ERR_INVALID_OPTION', `healthPath ${JSON.stringify(healthPath)} must be a path starting with "/"`);
  }
  const timeouts = resolveTimeouts(options.timeouts);
  const maintenance =
    options.maintenance === false
      ? undefined
      : createMaintenanceHandler({ ...options.maintenance, ...selection, frontEnd, logger, trustProxy: options.trustProxy, healthPath });
  const proxy = createProxyHandler({ ...options.proxy, ...selection, frontEnd, logger, upgradeGuard: maintenance?.guardUpgrade });
  const observers = [...(options.observers ?? [])];
  if (options.accessLog) {
    const bypassCookieName = options.maintenance === false ? undefined : options.maintenance?.bypassCookieName;
    observers.push(createAccessLog({ destination: options.accessLog, trustProxy: options.trustProxy, bypassCookieName }));
  }
  const giveIds = options.requestId ?? true;

  let synced = false;
  // start() resolves on the first full read from the store, not on a snapshot seeded while it was down.
  void frontEnd.watcher.start().then(() => {
    synced = true;
  });
  let stopping = false;
  let server: Server | undefined;
  let closing: Promise<void> | undefined;

  const health = (): FrontDoorHealth => ({
    status: stopping ? 'stopping' : synced ? 'ready' : 'starting',
    frontEnd: frontEnd.id,
    redis: frontEnd.watcher.connected ? 'connected' : 'disconnected',
    version: frontEnd.watcher.version,
    invalidKeys: frontEnd.watcher.invalidKeys,
    lostState: frontEnd.watcher.lostState,
  });

  const forward = (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (giveIds) {
      const sent = req.headers['x-request-id'];
      const id =
        sent === undefined
          ? addRequestId(req, randomUUID())
          : typeof sent === 'string' && REQUEST_ID.test(sent)
            ? sent
            : replaceRequestId(req, randomUUID());
      addResponseHeader(res, 'X-Request-Id', id);
    }
    for (const observe of observers) {
      // An observer is bookkeeping: its failure must not cost the request (or, thrown here, the process).
      try {
        observe(req, res);
      } catch (error) {
        logger.error({ err: (error as Error)?.message ?? String(error) }, 'a request observer threw');
      }
    }
    // The path rule first, so `/x/../healthz` is the health path too and never reaches an upstream;
    // a path it refuses is answered 400 by maintenance or the proxy.
    if (healthPath !== '' && healthPath === canonicalPath(req)) {
      answerHealth(req, res, health());
      return;
    }
    if (!maintenance) {
      forward(req, res);
      return;
    }
    maintenance.handle(req, res, (error?: unknown) => {
      if (error === undefined) {
        forward(req, res);
        return;
      }
      logger.error({ err: (error as Error)?.message ?? String(error) }, 'maintenance failed on a request');
      applyAddedHeaders(res);
      if (!res.headersSent) res.writeHead(500, { 'Cache-Control': 'no-store' }).end();
    });
  };

  const attach = (candidate: Server): void => {
    if (server === candidate) return;
    if (server)
      throw new SwitchyardError(
        'SWITCHYARD_ERR_INVALID_OPTION',
        'a front door serves one server; create another front door for a second one',
      );
    server = candidate;
    server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
    server.headersTimeout = timeouts.headersTimeoutMs;
    server.requestTimeout = timeouts.requestTimeoutMs;
    proxy.attach(server);
  };

  const serverOptions = (): ServerOptions => ({
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    // Node checks both deadlines on this period (30 s by default, far too late for a 15 s headers timeout).
    connectionsCheckingInterval: checkInterval(timeouts),
  });

  return {
    handle,
    upgrade: proxy.upgrade,
    maintenance,
    proxy,
    health,
    serverOptions,
    attach,
    async listen({ port, host, tls }) {
      const created = tls
        ? createTlsServer({ ...serverOptions(), cert: tls.cert, key: tls.key }, handle)
        : createServer(serverOptions(), handle);
      attach(created);
      created.listen(port, host);
      try {
        await Promise.race([once(created, 'listening'), once(created, 'error').then(([error]) => Promise.reject(error))]);
      } catch (error) {
        server = undefined;
        created.close();
        throw error;
      }
      return created;
    },
    close({ graceMs } = {}) {
      closing ??= (async () => {
        stopping = true;
        if (server) {
          await shutDownGracefully(server, frontEnd, { release: maintenance ? [maintenance] : [], finally: [proxy], graceMs });
        } else {
          maintenance?.close();
          proxy.close();
          await frontEnd.close();
        }
      })();
      return closing;
    },
  };
}

function answerHealth(req: IncomingMessage, res: ServerResponse, health: FrontDoorHealth): void {
  const body = `${JSON.stringify(health)}\n`;
  applyAddedHeaders(res);
  res.writeHead(health.status === 'ready' ? 200 : 503, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Puts `id` in place of the X-Request-Id(s) the client sent, where the proxy reads headers from (`rawHeaders`). */
function replaceRequestId(req: IncomingMessage, id: string): string {
  const raw = req.rawHeaders;
  for (let index = raw.length - 2; index >= 0; index -= 2) if (raw[index]!.toLowerCase() === 'x-request-id') raw.splice(index, 2);
  return addRequestId(req, id);
}

/** Gives a request that carries no X-Request-Id this one (the common case: no header to look for and remove). */
function addRequestId(req: IncomingMessage, id: string): string {
  req.rawHeaders.push('X-Request-Id', id);
  req.headers['x-request-id'] = id;
  return id;
}

function canonicalPath(req: IncomingMessage): string | undefined {
  const canonical = canonicalizeRequest(req);
  return canonical.ok ? canonical.path : undefined;
}
