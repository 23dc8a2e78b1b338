import type { IncomingMessage, ServerResponse } from 'node:http';
import { createMaintenanceHandler, MaintenanceHandler } from './handler';
import type { MaintenanceOptions } from './options';

/** Express/connect middleware with its handler attached (for `close()`, `held` and `stats`). */
export type ExpressMaintenanceMiddleware = ((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void) & {
  readonly handler: MaintenanceHandler;
};

/** Express/connect middleware: answers requests refused by maintenance, calls `next()` for the others. Put it before the proxy. */
export function expressMaintenance(options: MaintenanceOptions | MaintenanceHandler): ExpressMaintenanceMiddleware {
  const handler = options instanceof MaintenanceHandler ? options : createMaintenanceHandler(options);
  const middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => handler.handle(req, res, next);
  return Object.assign(middleware, { handler });
}
