import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { expressMaintenance, koaMaintenance, type MaintenanceHandler, type MaintenanceOptions } from '../src/index';

/** The frameworks every shared case runs against. */
export const FRAMEWORKS = ['koa', 'express'] as const;
/** A framework the middleware is mounted in. */
export type Framework = (typeof FRAMEWORKS)[number];

/** What the app behind the middleware answers; default `app <METHOD> <url>`. */
export type Behind = (req: IncomingMessage) => string | Promise<string>;

/** A real HTTP server: maintenance middleware in front of an app that counts its hits. */
export interface TestApp {
  readonly server: Server;
  readonly origin: string;
  readonly handler: MaintenanceHandler;
  /** Requests that reached the app behind the middleware. */
  readonly hits: () => number;
  close(): Promise<void>;
}

/** Starts a Koa or Express app with the maintenance middleware on `host` (127.0.0.1) and port 0. */
export async function startApp(
  framework: Framework,
  options: MaintenanceOptions,
  { host = '127.0.0.1', behind = (req: IncomingMessage) => `app ${req.method} ${req.url}` }: { host?: string; behind?: Behind } = {},
): Promise<TestApp> {
  let hits = 0;
  let handler: MaintenanceHandler;
  let server: Server;
  if (framework === 'koa') {
    const app = new Koa();
    const middleware = koaMaintenance(options);
    handler = middleware.handler;
    app.use(middleware);
    app.use(async (ctx) => {
      hits += 1;
      ctx.type = 'text/plain';
      ctx.body = await behind(ctx.req);
    });
    server = createServer(app.callback());
  } else {
    const app = express();
    const middleware = expressMaintenance(options);
    handler = middleware.handler;
    app.use(middleware);
    app.use(async (req, res) => {
      hits += 1;
      res.type('text/plain').send(await behind(req));
    });
    server = createServer(app);
  }
  return listen(server, host, handler, () => hits);
}

/** Starts a plain `http` server whose handler runs `handler.handle` in front of the app. */
export async function startPlainApp(handler: MaintenanceHandler, host = '127.0.0.1'): Promise<TestApp> {
  let hits = 0;
  const server = createServer((req, res) =>
    handler.handle(req, res, () => {
      hits += 1;
      res.end(`app ${req.method} ${req.url}`);
    }),
  );
  return listen(server, host, handler, () => hits);
}

async function listen(server: Server, host: string, handler: MaintenanceHandler, hits: () => number): Promise<TestApp> {
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    handler,
    hits,
    async close() {
      handler.close();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A response as the client saw it. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Options of send(). */
export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Source address of the connection, e.g. 127.0.0.2 to look like another client. */
  localAddress?: string;
}

/** One HTTP request with node:http (no redirects followed, raw Set-Cookie visible). */
export function send(origin: string, path: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(origin);
    // The path is sent as given (a URL object would resolve `..` before the server could see it).
    const req = httpRequest({
      host: hostname.replace(/^\[|\]$/g, ''),
      port,
      path,
      method: options.method ?? 'GET',
      headers: options.headers,
      localAddress: options.localAddress,
      agent: false,
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The Accept header of a desktop browser navigating to a page. */
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
