import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createFrontEnd, createLogger, type SiteSelectionOptions, shutDownGracefully } from '@switchyard/core';
import { koaMaintenance, type TrustProxy } from '@switchyard/maintenance';
import { koaProxy } from '@switchyard/proxy';
import Koa from 'koa';
import type { CommandSpec, ParsedArgs } from '../command';
import { parseDuration, parseWholeNumber, usageError } from '../option-values';

/** `switchyard serve` */
export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'a ready-made front end (maintenance + proxy) for sites without a Node front end',
  description: [
    "Runs a Koa front end: the maintenance middleware, then the proxy to the site's current route,",
    "WebSockets included. Run it on the old server in place of its web server's proxy rule (e.g.",
    'nginx proxy_pass), then `switchyard cutover` moves its traffic. It reports to `switchyard fronts`',
    'like any front end. SIGINT/SIGTERM stop it gracefully: no new connections, requests in flight',
    'finish (up to --grace), held requests are answered.',
  ].join('\n'),
  options: {
    port: { type: 'string', short: 'p', value: '<port>', description: 'port to listen on (default 8080)' },
    host: { type: 'string', value: '<address>', description: 'address to listen on (default 0.0.0.0, every interface)' },
    'sites-by-host': { type: 'boolean', description: 'pick the site from the Host header instead of --site' },
    'fallback-site': { type: 'string', value: '<site>', description: 'with --sites-by-host: site for unknown hosts (default: 502)' },
    'trust-proxy': { type: 'boolean', description: 'believe X-Forwarded-For/-Proto (only behind a proxy you run)' },
    'change-origin': { type: 'boolean', description: "send the upstream its own host as Host instead of the client's" },
    'proxy-timeout': {
      type: 'string',
      value: '<duration>',
      description: 'how long the upstream may stay silent before a 504 (default 30s)',
    },
    grace: { type: 'string', value: '<duration>', description: 'how long requests in flight may finish on shutdown (default 10s)' },
  },
  examples: [
    'switchyard serve --port 80',
    'switchyard serve --port 8080 --host 127.0.0.1 --site shop',
    'switchyard serve --port 80 --sites-by-host --fallback-site default --trust-proxy',
  ],
  handlesInterrupt: true,
  async run(context, args) {
    const port = parseWholeNumber(args.string('port') ?? '8080', 'port', 0, 65_535);
    const host = args.string('host') ?? '0.0.0.0';
    const graceMs = parseDuration(args.string('grace') ?? '10s', 'grace');
    const timeoutMs = parseDuration(args.string('proxy-timeout') ?? '30s', 'proxy-timeout');
    const selection = siteSelection(context.options.siteGiven ? context.site : undefined, args);
    const logger = createLogger(undefined, (line) => context.stderr.write(line));
    const frontEnd = await createFrontEnd({ store: context.options.redis, prefix: context.options.prefix, logger });
    const maintenance = koaMaintenance({
      frontEnd,
      logger,
      ...selection,
      ...(args.flag('trust-proxy') ? { trustProxy: true as TrustProxy } : {}),
    });
    // A WebSocket can write, so maintenance refuses new ones even when read-only; open ones stay open.
    const proxy = koaProxy({
      frontEnd,
      logger,
      ...selection,
      changeOrigin: args.flag('change-origin'),
      timeoutMs,
      upgradeGuard: maintenance.handler.guardUpgrade,
    });
    const app = new Koa();
    app.silent = true;
    app.use(maintenance);
    app.use(proxy);
    const server = app.listen(port, host);
    proxy.attach(server);
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    } catch (error) {
      proxy.close();
      await frontEnd.close();
      throw usageError(`cannot listen on ${host}:${port}: ${(error as Error).message}`);
    }
    const address = server.address() as AddressInfo;
    const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    const serving = selection.sitesByHost
      ? `sites by Host header${selection.fallbackSite ? `, fallback ${selection.fallbackSite}` : ''}`
      : `site ${selection.site}`;
    if (context.json) context.printJson({ type: 'listening', url, port: address.port, frontEnd: frontEnd.id, ...selection });
    else context.print(`switchyard serve: listening on ${url} (${serving}), front end ${frontEnd.id}; Ctrl-C to stop`);

    if (!context.signal.aborted) await once(context.signal, 'abort');
    if (!context.json) context.note('switchyard serve: shutting down (requests in flight may finish)');
    await shutDownGracefully(server, frontEnd, { release: [maintenance.handler], finally: [proxy], graceMs });
    if (context.json) context.printJson({ type: 'stopped' });
    return 0;
  },
};

function siteSelection(site: string | undefined, args: ParsedArgs): SiteSelectionOptions & { site?: string } {
  const fallbackSite = args.string('fallback-site');
  if (args.flag('sites-by-host')) {
    if (site !== undefined) throw usageError('use --site or --sites-by-host, not both');
    return { sitesByHost: true, ...(fallbackSite !== undefined ? { fallbackSite } : {}) };
  }
  if (fallbackSite !== undefined) throw usageError('--fallback-site only goes with --sites-by-host');
  return { site: site ?? 'default' };
}
