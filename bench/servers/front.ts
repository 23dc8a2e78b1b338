// A front end under benchmark. Modes:
//   http-proxy  bare http-proxy with a keep-alive agent and a fixed target (the baseline)
//   express-http-proxy  Express + the same bare http-proxy (the framework's own cost, without Switchyard)
//   koa-proxies         Koa + koa-proxies with a fixed target and keep-alive agent (likewise)
//   http        plain node:http + Switchyard proxy (target read from the watcher)
//   express     Express + Switchyard maintenance + proxy
//   koa         Koa + Switchyard maintenance + proxy
// Store from SWITCHYARD_REDIS_URL (default memory://). Prints {"port"} when listening; sends
// {"type":"change","target","at"} over IPC whenever the watcher applies a new route.
import { Agent, createServer } from 'node:http';
import { createFrontEnd, setRoute } from '@switchyard/core';
import { expressMaintenance, koaMaintenance } from '@switchyard/maintenance';
import { createProxyHandler, expressProxy, koaProxy } from '@switchyard/proxy';
import express from 'express';
import httpProxy from 'http-proxy';
import Koa from 'koa';
import koaProxies from 'koa-proxies';

const [mode = 'koa', target = ''] = process.argv.slice(2);

function announce(server: ReturnType<typeof createServer>): void {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
}

async function main(): Promise<void> {
  const agent = new Agent({ keepAlive: true });
  if (mode === 'http-proxy' || mode === 'express-http-proxy') {
    const proxy = httpProxy.createProxyServer({ target, agent, xfwd: true });
    proxy.on('error', (_error, _req, res) => {
      if ('writeHead' in res && !res.headersSent) res.writeHead(502).end();
    });
    if (mode === 'http-proxy') announce(createServer((req, res) => proxy.web(req, res)));
    else announce(createServer(express().use((req, res) => proxy.web(req, res))));
    return;
  }
  if (mode === 'koa-proxies') {
    const app = new Koa();
    // koa-proxies passes unknown options through to http-proxy; its types do not list xfwd.
    app.use(koaProxies('/', { target, agent, xfwd: true, logs: false } as Parameters<typeof koaProxies>[1]));
    announce(createServer(app.callback()));
    return;
  }
  const frontEnd = await createFrontEnd({ store: process.env.SWITCHYARD_REDIS_URL ?? 'memory://bench' });
  if (target) await setRoute(frontEnd.store, 'default', target);
  frontEnd.watcher.on('change', (_site, state) => process.send?.({ type: 'change', target: state?.route?.target, at: Date.now() }));
  if (mode === 'http') {
    announce(createServer(createProxyHandler({ frontEnd }).handle));
  } else if (mode === 'express') {
    const app = express();
    app.use(expressMaintenance({ frontEnd }));
    app.use(expressProxy({ frontEnd }));
    announce(createServer(app));
  } else {
    const app = new Koa();
    app.use(koaMaintenance({ frontEnd }));
    app.use(koaProxy({ frontEnd }));
    announce(createServer(app.callback()));
  }
}

void main();
