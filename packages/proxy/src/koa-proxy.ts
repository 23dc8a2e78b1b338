import type { IncomingMessage, ServerResponse } from 'node:http';
import koaProxies from 'koa-proxies';
import { type ProxyFailure, renderFailure } from './error-page';
import type { ProxyOptions } from './options';
import { ProxyEngine, type UpstreamRequestOptions } from './proxy-engine';
import type { ProxyHandler } from './proxy-handler';

/** The parts of a Koa context the proxy uses; any Koa 2 or 3 context fits. */
export interface KoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Koa reports request errors through it, including those of a client connection that went away. */
  onerror(error: Error | null): void;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
}

/** Koa middleware that proxies every request it sees; it never calls `next`. */
export interface KoaProxy {
  (ctx: KoaContextLike, next: () => Promise<unknown>): Promise<void>;
  upgrade: ProxyHandler['upgrade'];
  attach: ProxyHandler['attach'];
  close: ProxyHandler['close'];
}

type KoaProxiesMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void>;

/**
 * Creates Koa middleware, built on koa-proxies, proxying every request to its site's current
 * target. Mount it after the maintenance middleware and before any body parser; attach it to the
 * server for WebSockets: `proxy.attach(app.listen(8080))`.
 */
export function koaProxy(options: ProxyOptions): KoaProxy {
  const engine = new ProxyEngine(options);
  const upstreams = new WeakMap<IncomingMessage, UpstreamRequestOptions>();
  const failures = new WeakMap<IncomingMessage, ProxyFailure>();
  // koa-proxies registers event handlers once per middleware, so they must work from their arguments alone.
  const events = {
    proxyReq: engine.onProxyReq,
    proxyRes: engine.onProxyRes,
    error: (error: Error, req: IncomingMessage, res: ServerResponse) => {
      const failure = engine.fail(error, req, res);
      if (failure) failures.set(req, failure);
    },
  };
  const proxies = koaProxies('/', (_params, ctx) => ({
    ...upstreams.get(ctx.req)!,
    events,
    logs: false,
  })) as unknown as KoaProxiesMiddleware;

  const middleware: KoaProxy = async (ctx, next) => {
    const route = engine.route(ctx.req);
    if (typeof route === 'string') {
      respond(ctx, route);
      return;
    }
    upstreams.set(ctx.req, engine.dispatch(ctx.req, ctx.res, route));
    silenceClientDisconnects(ctx);
    try {
      await proxies(ctx, next);
    } catch (error) {
      // koa-proxies rejects when the response closes unfinished: the client left, or the response was cut
      // because the upstream died mid-way. Both are handled; Koa must not report them as errors.
      if (ctx.res.destroyed) return;
      throw error;
    }
    // koa-proxies would answer 503 (maintenance!) or 500; the failure decides the status instead.
    const failure = failures.get(ctx.req);
    if (failure) respond(ctx, failure);
  };
  middleware.upgrade = engine.upgrade;
  middleware.attach = (server) => engine.attach(server);
  middleware.close = () => engine.close();
  return middleware;
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

function respond(ctx: KoaContextLike, failure: ProxyFailure): void {
  const page = renderFailure(ctx.req, failure);
  ctx.status = page.status;
  for (const [name, value] of Object.entries(page.headers)) ctx.set(name, value);
  ctx.body = page.body;
}
