import type { Server } from 'node:http';
import type { FrontEnd } from './front-end';

/** Anything a front end closes on the way down: the maintenance handler, the proxy. */
export interface Closable {
  close(): unknown;
}

/** Options of shutDownGracefully. */
export interface GracefulShutdownOptions {
  /** Closed first, right after the server stops accepting: the maintenance handler answers the requests it holds. */
  release?: readonly Closable[];
  /** Closed once proxied requests finished or the grace period ran out: the proxy ends WebSockets and upstream sockets. */
  finally?: readonly Closable[];
  /** How long requests in flight may take to finish. Default 10 000 ms. */
  graceMs?: number;
}

/**
 * Stops a front end without cutting requests short: no new connections, idle keep-alive
 * connections closed, held requests answered, proxied requests given `graceMs` to finish; then
 * WebSockets and whatever is left are closed and the heartbeat is removed from the store.
 * Resolves once everything is closed.
 */
export async function shutDownGracefully(server: Server, frontEnd: FrontEnd, options: GracefulShutdownOptions = {}): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  for (const item of options.release ?? []) item.close();
  await frontEnd.stats.whenIdle(options.graceMs ?? 10_000);
  // WebSockets and connections that outlived the grace period would keep the server open for ever.
  for (const item of options.finally ?? []) item.close();
  server.closeAllConnections();
  await closed;
  await frontEnd.close();
}
