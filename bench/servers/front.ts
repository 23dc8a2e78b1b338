// A front end under benchmark, one per process. Peers (static target, keep-alive agent to the upstream):
//   http-proxy    bare http-proxy
//   koa-proxies   Koa + koa-proxies
//   express-hpm   Express + http-proxy-middleware
//   express-bare  Express answering itself as the upstream does (100 B, 64 KB at /64k), no proxy: what Express alone costs
//   http-bare     node:http answering itself the same way: the same without Express
// Switchyard (target read from the watcher; store from SWITCHYARD_REDIS_URL, else memory://):
//   serve         plain node:http, maintenance handler then createProxyHandler: what `switchyard serve` runs
//   serve-proxy   plain node:http, createProxyHandler alone (maintenance not mounted)
//   door          createFrontDoor with its defaults (health path, request ids, timeouts): `switchyard serve` without the CLI
//   door-noid     the same with `requestId: false`
//   koa           Koa, koaMaintenance then koaProxy (examples/koa-front)
//   koa-proxy     Koa, koaProxy alone
//   express       Express, expressMaintenance then expressProxy, server built with expressServerOptions (examples/express-front)
//   express-listen the same on the server app.listen makes (Express swaps each req's and res's prototype)
// BENCH_EXPRESS_BUILT=1 (`bench:ab -- express-hpm express-hpm+BENCH_EXPRESS_BUILT=1`) puts the Express
// peers (express-hpm, express-bare) on a server built with expressServerOptions too: what it gives them.
// Options after the mode: the target URL; `--sites-by-host` (serve only: site from Host, fallback `default`).
// Prints {"port"} when listening; sends {"type":"change","target","at"} over IPC whenever the watcher
// applies a new route; answers {"type":"memory"} messages with process.memoryUsage().
import { Agent, createServer, type IncomingMessage, type ServerOptions, type ServerResponse } from 'node:http';
import { createFrontEnd, expressServerOptions, setRoute, silentLogger } from '@switchyard/core';
import { createMaintenanceHandler, expressMaintenance, koaMaintenance } from '@switchyard/maintenance';
import { createFrontDoor, createProxyHandler, expressProxy, koaProxy } from '@switchyard/proxy';
import express from 'express';
import httpProxy from 'http-proxy';
import { createProxyMiddleware } from 'http-proxy-middleware';
import Koa from 'koa';
import koaProxies from 'koa-proxies';

const [mode = 'serve', target = '', ...flags] = process.argv.slice(2);

function announce(handler: (req: IncomingMessage, res: ServerResponse) => void, options: ServerOptions = {}): void {
  const server = createServer(options, handler);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
}

// Exit normally on SIGTERM, so --cpu-prof can write its profile.
process.once('SIGTERM', () => process.exit(0));
process.on('message', (message: { type: string }) => {
  if (message.type === 'memory') process.send?.({ type: 'memory', usage: process.memoryUsage() });
});

/** The Express peers' server: app.listen's, as their users run them, unless BENCH_EXPRESS_BUILT=1. */
function expressPeerServer(app: express.Express): ServerOptions {
  return process.env.BENCH_EXPRESS_BUILT === '1' ? expressServerOptions(app) : {};
}

async function peer(): Promise<boolean> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  if (mode === 'http-proxy') {
    const proxy = httpProxy.createProxyServer({ target, agent, xfwd: true });
    proxy.on('error', (_error, _req, res) => {
      if ('writeHead' in res && !res.headersSent) res.writeHead(502).end();
    });
    announce((req, res) => proxy.web(req, res));
    return true;
  }
  if (mode === 'koa-proxies') {
    const app = new Koa();
    // wrk closes its connections mid-response at the end of a run: koa-proxies rejects, Koa would print each.
    app.silent = true;
    // koa-proxies passes unknown options through to http-proxy; its types do not list xfwd.
    app.use(koaProxies('/', { target, agent, xfwd: true, logs: false } as Parameters<typeof koaProxies>[1]));
    announce(app.callback());
    return true;
  }
  if (mode === 'express-bare' || mode === 'http-bare') {
    // No proxy at all: what the framework (or node:http) alone costs per request, answering as the upstream does.
    const small = Buffer.alloc(100, 'a');
    const large = Buffer.alloc(64 * 1024, 'b');
    const answer = (req: IncomingMessage, res: ServerResponse) => {
      const body = req.url === '/64k' ? large : small;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
    };
    if (mode === 'http-bare') announce(answer);
    else {
      const app = express();
      app.disable('x-powered-by');
      app.use(answer);
      announce(app, expressPeerServer(app));
    }
    return true;
  }
  if (mode === 'express-hpm') {
    const app = express();
    // As examples/express-front does, so both Express fronts send the same headers.
    app.disable('x-powered-by');
    app.use(createProxyMiddleware({ target, agent, xfwd: true }));
    announce(app, expressPeerServer(app));
    return true;
  }
  return false;
}

async function main(): Promise<void> {
  if (await peer()) return;
  const frontEnd = await createFrontEnd({ store: process.env.SWITCHYARD_REDIS_URL ?? 'memory://bench', logger: silentLogger });
  if (target) await setRoute(frontEnd.store, 'default', target);
  frontEnd.watcher.on('change', (_site, state) => process.send?.({ type: 'change', target: state?.route?.target, at: Date.now() }));
  const selection = flags.includes('--sites-by-host') ? { sitesByHost: true, fallbackSite: 'default' } : {};
  if (mode === 'serve' || mode === 'serve-proxy') {
    const proxy = createProxyHandler({ frontEnd, ...selection });
    if (mode === 'serve-proxy') {
      announce(proxy.handle);
      return;
    }
    const maintenance = createMaintenanceHandler({ frontEnd, ...selection });
    announce((req, res) => maintenance.handle(req, res, () => proxy.handle(req, res)));
  } else if (mode === 'door' || mode === 'door-noid') {
    const door = createFrontDoor({ frontEnd, ...selection, logger: silentLogger, requestId: mode !== 'door-noid' });
    const server = await door.listen({ port: 0, host: '127.0.0.1' });
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  } else if (mode === 'express' || mode === 'express-listen') {
    const app = express();
    app.disable('x-powered-by');
    app.use(expressMaintenance({ frontEnd }));
    app.use(expressProxy({ frontEnd }));
    announce(app, mode === 'express' ? expressServerOptions(app) : {});
  } else if (mode === 'koa' || mode === 'koa-proxy') {
    const app = new Koa();
    app.silent = true;
    if (mode === 'koa') app.use(koaMaintenance({ frontEnd }));
    app.use(koaProxy({ frontEnd }));
    announce(app.callback());
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

void main();
