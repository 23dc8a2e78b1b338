import type { RequestStats } from '@switchyard/core/internal';
import type { MaintenanceHandler } from './handler';

/**
 * What every maintenance middleware carries besides being callable, directly on the function as the
 * proxy middlewares carry `upgrade`/`attach`/`close`: shut it down with `close()`, guard WebSockets
 * with `guardUpgrade`, read `held` and `stats`. `handler` stays for code written against 0.x.
 */
export interface MaintenanceMiddlewareMembers {
  /** The shared handler behind the middleware (same object for every member below). */
  readonly handler: MaintenanceHandler;
  /** The proxy's `upgradeGuard`: see MaintenanceHandler.guardUpgrade. */
  readonly guardUpgrade: MaintenanceHandler['guardUpgrade'];
  /** Requests this middleware is holding now. */
  readonly held: number;
  /** Refusal and hold counters (the front end's, or private ones in static mode). */
  readonly stats: RequestStats;
  /** Stops listening to the watcher; held requests are answered now. */
  close(): void;
}

/** Gives a middleware function the members of its handler; the one place both adapters get their shape from. */
export function withHandlerMembers<Fn extends (...args: never[]) => unknown>(
  middleware: Fn,
  handler: MaintenanceHandler,
): Fn & MaintenanceMiddlewareMembers {
  return Object.defineProperties(middleware, {
    handler: { value: handler, enumerable: true },
    guardUpgrade: { value: handler.guardUpgrade, enumerable: true },
    held: { get: () => handler.held, enumerable: true },
    stats: { value: handler.stats, enumerable: true },
    close: { value: () => handler.close(), enumerable: true },
  }) as Fn & MaintenanceMiddlewareMembers;
}
