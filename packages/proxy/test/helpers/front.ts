import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expressServerOptions } from '@switchyard/core';
import express from 'express';
import Koa from 'koa';
import { createProxyHandler, expressProxy, koaProxy, type ProxyOptions } from '../../src/index';

/**
 * The front doors of the proxy; tests run against each where behaviour could differ. Express twice:
 * on a server built with expressServerOptions (as examples/express-front), whose `req` and `res` have
 * Express's prototypes from the start, and on the server `app.listen` makes, where Express swaps them
 * on each request and the adapter settles them (core/src/request-mark.ts).
 */
export const FRONT_KINDS = ['koa', 'express', 'express-listen', 'http'] as const;
/** One of FRONT_KINDS. */
export type FrontKind = (typeof FRONT_KINDS)[number];

/** A front end's HTTP server with the proxy mounted and WebSockets attached. */
export interface Front {
  readonly kind: FrontKind;
  readonly server: Server;
  readonly url: string;
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string;
  /** Errors the framework would have printed (Koa's app 'error' event); must stay empty. */
  readonly frameworkErrors: Error[];
  close(): Promise<void>;
}

/** Starts a front end server of the given kind on 127.0.0.1 with a proxy built from `options`. */
export async function startFront(kind: FrontKind, options: ProxyOptions): Promise<Front> {
  let server: Server;
  let closeProxy: () => void;
  const frameworkErrors: Error[] = [];
  if (kind === 'koa') {
    const app = new Koa();
    app.on('error', (error: Error) => frameworkErrors.push(error));
    const proxy = koaProxy(options);
    app.use(proxy);
    server = createServer(app.callback());
    proxy.attach(server);
    closeProxy = proxy.close;
  } else if (kind === 'express' || kind === 'express-listen') {
    const app = express();
    const proxy = expressProxy(options);
    app.use(proxy);
    server = kind === 'express' ? createServer(expressServerOptions(app), app) : createServer(app);
    server.on('upgrade', proxy.upgrade);
    closeProxy = proxy.close;
  } else {
    const proxy = createProxyHandler(options);
    server = createServer(proxy.handle);
    proxy.attach(server);
    closeProxy = proxy.close;
  }
  // Not startUpstream: its close() destroys every socket, which would end the WebSocket tunnels that the proxy's own close() must end.
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    kind,
    server,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    frameworkErrors,
    async close() {
      server.closeAllConnections();
      server.close();
      closeProxy();
      await once(server, 'close');
    },
  };
}
