import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createStore, FrontEnd, type Logger, type MaintenanceState, type Store, setMaintenance, silentLogger } from '@switchyard/core';
import express from 'express';
import Koa from 'koa';
import { startUpstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import {
  createMaintenanceHandler,
  expressMaintenance,
  koaMaintenance,
  type MaintenanceHandler,
  type MaintenanceOptions,
} from '../src/index';

/** The frameworks every shared case runs against. */
export const FRAMEWORKS = ['koa', 'express', 'http'] as const;
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
  let serve: (req: IncomingMessage, res: ServerResponse) => void;
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
    serve = app.callback();
  } else if (framework === 'express') {
    const app = express();
    const middleware = expressMaintenance(options);
    handler = middleware.handler;
    app.use(middleware);
    app.use(async (req, res) => {
      hits += 1;
      res.type('text/plain').send(await behind(req));
    });
    serve = app;
  } else {
    handler = createMaintenanceHandler(options);
    const plain = handler;
    serve = (req, res) =>
      plain.handle(req, res, async () => {
        hits += 1;
        const body = await behind(req);
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
      });
  }
  return listen(serve, host, handler, () => hits);
}

/** Starts a plain `http` server whose handler runs `handler.handle` in front of the app. */
export async function startPlainApp(handler: MaintenanceHandler, host = '127.0.0.1'): Promise<TestApp> {
  let hits = 0;
  const serve = (req: IncomingMessage, res: ServerResponse) =>
    handler.handle(req, res, () => {
      hits += 1;
      res.end(`app ${req.method} ${req.url}`);
    });
  return listen(serve, host, handler, () => hits);
}

async function listen(
  serve: (req: IncomingMessage, res: ServerResponse) => void,
  host: string,
  handler: MaintenanceHandler,
  hits: () => number,
): Promise<TestApp> {
  const upstream = await startUpstream(serve, host);
  return {
    server: upstream.server,
    origin: upstream.url,
    handler,
    hits,
    async close() {
      handler.close();
      await upstream.close();
    },
  };
}

/** A front end on its own memory:// store, and a writer on that store to change maintenance while the tests run. */
export interface MaintenanceFront {
  readonly front: FrontEnd;
  readonly writer: Store;
}

/** Writes `sites` (site → maintenance state) to a fresh store `memory://<name>`, then starts a front end and waits until it applies them all. */
export async function startFrontInMaintenance(
  name: string,
  sites: Record<string, MaintenanceState>,
  logger: Logger = silentLogger,
): Promise<MaintenanceFront> {
  const writer = createStore(`memory://${name}`);
  for (const [site, state] of Object.entries(sites)) await setMaintenance(writer, site, state, { actor: 'test' });
  const front = await new FrontEnd({ store: `memory://${name}`, logger }).start();
  await waitFor(() => Object.keys(sites).every((site) => front.watcher.maintenance(site)), { what: 'states applied' });
  return { front, writer };
}

/** The Accept header of a desktop browser navigating to a page. */
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
