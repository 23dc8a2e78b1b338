import type { IncomingMessage, ServerResponse } from 'node:http';
import { settleSwappedPrototype } from '@switchyard/core/internal';
import { createMaintenanceHandler, MaintenanceHandler } from './handler';
import { type MaintenanceMiddlewareMembers, withHandlerMembers } from './middleware';
import type { MaintenanceOptions } from './options';

/** Express/connect middleware with `close()`, `guardUpgrade`, `held` and `stats` on it (see MaintenanceMiddlewareMembers). */
export type ExpressMaintenanceMiddleware = ((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void) &
  MaintenanceMiddlewareMembers;

/**
 * Express/connect middleware: answers requests refused by maintenance, calls `next()` for the others.
 * Put it before the proxy. An Express app runs fastest on a server built with `expressServerOptions(app)`
 * (`@switchyard/core`).
 */
export function expressMaintenance(options: MaintenanceOptions | MaintenanceHandler): ExpressMaintenanceMiddleware {
  const handler = options instanceof MaintenanceHandler ? options : createMaintenanceHandler(options);
  const middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    // On app.listen's server Express swapped their prototypes, and without this every property access
    // on them misses V8's caches; on one built with expressServerOptions it returns at once.
    settleSwappedPrototype(req);
    settleSwappedPrototype(res);
    handler.handle(req, res, next);
  };
  return withHandlerMembers(middleware, handler);
}
