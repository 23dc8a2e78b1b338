import type { IncomingMessage, ServerResponse } from 'node:http';
import { createMaintenanceHandler, type MaintenanceDecision, MaintenanceHandler } from './handler';
import { type MaintenanceMiddlewareMembers, withHandlerMembers } from './middleware';
import type { MaintenanceOptions } from './options';

/** The part of a Koa context the middleware uses (declared here so this package needs no Koa types). */
export interface KoaMaintenanceContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Rewritten to the canonical target with `req.url` when it held the same raw target (see canonicalizeRequest). */
  originalUrl: string;
  status: number;
  body: unknown;
  respond?: boolean | undefined;
  set(fields: { [name: string]: string | string[] }): void;
}

/** Koa middleware with `close()`, `guardUpgrade`, `held` and `stats` on it (see MaintenanceMiddlewareMembers). */
export type KoaMaintenanceMiddleware = ((ctx: KoaMaintenanceContext, next: () => Promise<unknown>) => Promise<void>) &
  MaintenanceMiddlewareMembers;

/**
 * Koa middleware: answers requests refused by maintenance through Koa (so outer middleware sees the
 * status), and awaits `next()` for the others. Put it before the proxy.
 */
export function koaMaintenance(options: MaintenanceOptions | MaintenanceHandler): KoaMaintenanceMiddleware {
  const handler = options instanceof MaintenanceHandler ? options : createMaintenanceHandler(options);
  // Not an async function: a request that passes (every request while maintenance is off) returns
  // next()'s own promise, with no async frame and no await of a decision that is not a promise.
  // Koa's compose turns a synchronous throw into a rejection.
  const middleware = (ctx: KoaMaintenanceContext, next: () => Promise<unknown>): Promise<void> => {
    const raw = ctx.req.url;
    const decision = handler.decide(ctx.req, ctx.res, ctx.originalUrl);
    if (decision instanceof Promise) return applyWhenSettled(ctx, next, raw, decision);
    return apply(ctx, next, raw, decision);
  };
  return withHandlerMembers(middleware, handler);
}

// Apart from the middleware: a closure in it would allocate its context on every request, held or not.
function applyWhenSettled(
  ctx: KoaMaintenanceContext,
  next: () => Promise<unknown>,
  raw: string | undefined,
  decision: Promise<MaintenanceDecision>,
): Promise<void> {
  return decision.then((settled) => apply(ctx, next, raw, settled));
}

function apply(
  ctx: KoaMaintenanceContext,
  next: () => Promise<unknown>,
  raw: string | undefined,
  decision: MaintenanceDecision,
): Promise<void> {
  // Koa copied the raw target at the start; later middleware and logs should see what is forwarded.
  if (ctx.originalUrl === raw && ctx.req.url !== undefined) ctx.originalUrl = ctx.req.url;
  if (decision.action === 'pass') return next() as Promise<void>;
  if (decision.action === 'drop') {
    ctx.respond = false;
  } else {
    const { status, headers, body } = decision.response;
    ctx.status = status;
    ctx.set({ ...headers });
    ctx.body = body;
  }
  return Promise.resolve();
}
