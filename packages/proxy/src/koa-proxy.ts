import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyOptions } from './options';
import type { ProxyHandler } from './proxy-handler';
import { createProxyHandler } from './proxy-handler';

/** The parts of a Koa context the proxy uses; any Koa 2 or 3 context fits. */
export interface KoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Koa reports request errors through it, including those of a client connection that went away. */
  onerror(error: Error | null): void;
  /** Set to false: the proxy writes the response itself. */
  respond?: boolean;
  /** A body parser's result (koa-bodyparser, @koa/bodyparser), re-sent when the stream was already read. */
  readonly request?: { readonly body?: unknown };
}

/** Koa middleware that proxies the requests its `pathFilter` takes (all by default) and awaits `next()` for the others. */
export interface KoaProxy {
  (ctx: KoaContextLike, next: () => Promise<unknown>): Promise<unknown>;
  upgrade: ProxyHandler['upgrade'];
  attach: ProxyHandler['attach'];
  close: ProxyHandler['close'];
}

/**
 * Creates Koa middleware proxying every request to its site's current target, on the same engine as
 * the Express and plain `http` proxies. The response is written straight to `ctx.res` (`ctx.respond =
 * false`); `ctx.status` reads what was sent and the returned promise settles when the response is
 * done, so outer middleware (loggers, timers) see the status and the whole exchange. Mount it after
 * the maintenance middleware and before any body parser; attach it to the server for WebSockets:
 * `proxy.attach(app.listen(8080))`.
 */
export function koaProxy(options: ProxyOptions): KoaProxy {
  const handler = createProxyHandler(options);
  const handle = handler.handle;
  const middleware = (ctx: KoaContextLike, next: () => Promise<unknown>): Promise<unknown> => {
    const req = ctx.req as IncomingMessage & { body?: unknown };
    if (!handler.accepts(req)) return next();
    // Koa's body parsers keep the parsed body on ctx.request; the engine looks where Express keeps it.
    if (req.body === undefined && ctx.request?.body !== undefined) req.body = ctx.request.body;
    ctx.respond = false;
    silenceClientDisconnects(ctx);
    const res = ctx.res;
    // `on`, not `once`: a response closes once, and `once` would wrap the listener on every request.
    const closed = new Promise<void>((resolve) => res.on('close', resolve));
    handle(ctx.req, res);
    return closed;
  };
  return Object.assign(middleware, { upgrade: handler.upgrade, attach: handler.attach, close: handler.close });
}

/**
 * Koa watches every response and prints the client socket's error (e.g. `Parse Error` for an upload
 * cut short) when the response does not finish. For a proxied request that is a client leaving, not
 * a fault of the app; there is nobody left to answer, so it is dropped for this request only.
 */
function silenceClientDisconnects(ctx: KoaContextLike): void {
  const report = ctx.onerror;
  ctx.onerror = (error) => {
    if (error && (ctx.res.destroyed || ctx.req.socket.destroyed)) return;
    report.call(ctx, error);
  };
}
