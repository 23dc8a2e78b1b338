import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { settleSwappedPrototype } from '@switchyard/core/internal';
import type { ProxyOptions } from './options';
import { ProxyEngine } from './proxy-engine';

/** A proxy for plain `http` servers (and anything else that hands over `req`/`res`). */
export interface ProxyHandler {
  /**
   * Proxies one request to its site's current target; answers 502/504 itself when that fails. A request
   * outside `pathFilter` goes to `next` when given, else gets a 404.
   */
  handle(req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** Whether the request is one this proxy handles (its `pathFilter`). */
  accepts(req: IncomingMessage): boolean;
  /** An `upgrade` listener proxying WebSockets (behind the `upgradeGuard` option): `server.on('upgrade', proxy.upgrade)`. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Sends the server's WebSocket upgrades through the proxy (`server.on('upgrade', proxy.upgrade)`). */
  attach(server: Server): void;
  /**
   * Detaches from servers, closes open WebSocket tunnels and the pooled upstream connections (cutting
   * any exchange still running): call it on shutdown once `server.close()` stopped new requests and
   * the front end's `stats.inFlight` drained.
   */
  close(): void;
}

/** Express/connect middleware that proxies the requests its `pathFilter` takes (all by default) and calls `next` for the others. */
export interface ExpressProxy {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  upgrade: ProxyHandler['upgrade'];
  attach: ProxyHandler['attach'];
  close: ProxyHandler['close'];
}

/**
 * Creates a proxy for a plain `http` server: `http.createServer(proxy.handle)` plus
 * `proxy.attach(server)` for WebSockets.
 */
export function createProxyHandler(options: ProxyOptions): ProxyHandler {
  const engine = new ProxyEngine(options);
  return {
    handle: engine.handle,
    accepts: (req) => engine.accepts(req),
    upgrade: engine.upgrade,
    attach: (server) => engine.attach(server),
    close: () => engine.close(),
  };
}

/**
 * Creates Express/connect middleware proxying every request to its site's current target. Mount it
 * after the maintenance middleware and before any body parser. It proxies `req.url`, so when mounted
 * on a path (`app.use('/api', proxy)`) the upstream gets the path without that prefix, as with any
 * Express middleware. An Express app runs fastest on a server built with `expressServerOptions(app)`
 * (`@switchyard/core`): about twice the requests per second of `app.listen`'s.
 */
export function expressProxy(options: ProxyOptions): ExpressProxy {
  const handler = createProxyHandler(options);
  const handle = handler.handle;
  return Object.assign(
    (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => {
      // On app.listen's server Express swapped their prototypes, and without this every property access
      // on them misses V8's caches; on one built with expressServerOptions it returns at once.
      settleSwappedPrototype(req);
      settleSwappedPrototype(res);
      handle(req, res, next);
    },
    {
      upgrade: handler.upgrade,
      attach: handler.attach,
      close: handler.close,
    },
  );
}
