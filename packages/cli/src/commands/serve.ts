import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createFrontEnd, createLogger, type Logger } from '@switchyard/core';
import type { SwitchyardMetrics } from '@switchyard/metrics';
import { type AccessLogDestination, createFrontDoor } from '@switchyard/proxy';
import type { CommandSpec } from '../command';
import type { CommandContext } from '../context';
import { usageError } from '../option-values';
import { environmentName, readServeConfig, readTls, SERVE_OPTIONS, type ServeConfig } from './serve-options';

/** `switchyard serve` */
export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'a ready-made front end (maintenance + proxy) for sites without a Node front end',
  description: [
    'A front end on plain node:http: its own health endpoint, the maintenance handler, then the proxy to the',
    "site's current route, WebSockets included. Run it on the old server in place of its web server's proxy",
    'rule (e.g. nginx proxy_pass), then `switchyard cutover` moves its traffic. It reports to `switchyard fronts`',
    'like any front end. SIGINT/SIGTERM stop it gracefully: no new connections, requests in flight finish',
    '(up to --grace), held requests are answered. SIGHUP reloads the TLS certificate and reopens the access log.',
    `Every option can also be set in the environment: --max-held is ${environmentName('max-held')}, --site is SWITCHYARD_SITE`,
    '(a flag on the command line wins). Timeouts and a systemd unit: docs/operations.md.',
  ].join('\n'),
  options: SERVE_OPTIONS,
  examples: [
    'switchyard serve --port 80',
    'switchyard serve --port 8080 --host 127.0.0.1 --site shop',
    'switchyard serve --port 443 --tls-cert /etc/ssl/shop.pem --tls-key /etc/ssl/shop.key --snapshot-path /var/lib/switchyard/state.json',
    'switchyard serve --port 80 --sites-by-host --fallback-site default --trust-proxy 10.0.0.0/8',
    'SWITCHYARD_PORT=8080 SWITCHYARD_ACCESS_LOG=- switchyard serve',
  ],
  handlesInterrupt: true,
  async run(context, args) {
    const config = readServeConfig(args, context.env, context.options.siteGiven ? context.site : undefined);
    const logger = createLogger(undefined, (line) => context.stderr.write(line));
    const accessLog = config.accessLog ? openAccessLog(config.accessLog, context, logger) : undefined;
    const frontEnd = await createFrontEnd({
      store: context.options.redis,
      prefix: context.options.prefix,
      logger,
      startTimeoutMs: config.startTimeoutMs,
      ...(config.snapshotPath ? { snapshotPath: config.snapshotPath } : {}),
    });
    // Loaded only when asked for: prom-client and the OpenTelemetry API it brings are 80-odd modules
    // and a few MB of memory a front end without --metrics-port never uses.
    const metrics = config.metrics ? (await import('@switchyard/metrics')).createMetrics({ frontEnd, defaultMetrics: true }) : undefined;
    let door: ReturnType<typeof createFrontDoor>;
    let server: Awaited<ReturnType<typeof door.listen>>;
    let metricsServer: Server | undefined;
    try {
      door = createFrontDoor({
        frontEnd,
        logger,
        ...config.selection,
        trustProxy: config.trustProxy,
        healthPath: config.healthPath,
        maintenance: {
          ...(config.page !== undefined ? { page: config.page } : {}),
          ...(config.refresh !== undefined ? { refresh: config.refresh } : {}),
          ...(config.maxHeld !== undefined ? { maxHeld: config.maxHeld } : {}),
        },
        proxy: { changeOrigin: config.changeOrigin, timeoutMs: config.proxyTimeoutMs },
        ...(accessLog ? { accessLog: accessLog.destination } : {}),
        observers: metrics ? [metrics.observe] : [],
        timeouts: config.timeouts,
      });
      try {
        server = await door.listen({ port: config.port, host: config.host, ...(config.tls ? { tls: config.tls } : {}) });
      } catch (error) {
        await door.close();
        throw usageError(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
      }
      if (metrics && config.metrics) {
        try {
          metricsServer = await listenForScrapes(metrics, config.metrics);
        } catch (error) {
          await door.close();
          throw usageError(`cannot listen for metrics on ${config.metrics.host}:${config.metrics.port}: ${(error as Error).message}`);
        }
      }
    } catch (error) {
      metrics?.close();
      await frontEnd.close();
      accessLog?.close();
      throw error;
    }
    const address = server.address() as AddressInfo;
    const url = urlOf(config.tls ? 'https' : 'http', address);
    const metricsUrl = metricsServer ? `${urlOf('http', metricsServer.address() as AddressInfo)}/metrics` : undefined;
    const { selection } = config;
    const serving = selection.sitesByHost
      ? `sites by Host header${selection.fallbackSite ? `, fallback ${selection.fallbackSite}` : ''}`
      : `site ${selection.site}`;
    if (context.json) {
      context.printJson({
        type: 'listening',
        url,
        port: address.port,
        frontEnd: frontEnd.id,
        ...selection,
        ...(metricsUrl ? { metrics: metricsUrl } : {}),
      });
    } else {
      context.print(
        `switchyard serve: listening on ${url} (${serving}), front end ${frontEnd.id}${metricsUrl ? `, metrics at ${metricsUrl}` : ''}; Ctrl-C to stop`,
      );
    }

    // SIGHUP's default is to end the process; here it means "reload": certificate, access log file.
    const onHangUp = () => {
      if (config.tls) reloadTls(server as TlsServer, config, logger, context);
      accessLog?.reopen();
    };
    process.on('SIGHUP', onHangUp);
    try {
      if (!context.signal.aborted) await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
      if (!context.json) context.note('switchyard serve: shutting down (requests in flight may finish)');
      await door.close({ graceMs: config.graceMs });
    } finally {
      process.off('SIGHUP', onHangUp);
      accessLog?.close();
      metrics?.close();
      if (metricsServer) {
        metricsServer.closeAllConnections();
        metricsServer.close();
      }
    }
    if (context.json) context.printJson({ type: 'stopped' });
    return 0;
  },
};

/** The metrics listener: `/metrics` only, so it can sit on a port a scraper reaches. */
async function listenForScrapes(metrics: SwitchyardMetrics, where: { port: number; host: string }): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?', 1)[0] === '/metrics') metrics.handler(req, res);
    else res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics are at /metrics\n');
  });
  server.listen(where.port, where.host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  return server;
}

function urlOf(scheme: string, address: AddressInfo): string {
  return `${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

/** Re-reads the certificate and key; on a bad pair the old one stays in use and the error is logged. */
function reloadTls(server: TlsServer, config: ServeConfig, logger: Logger, context: CommandContext): void {
  const paths = config.tls!;
  try {
    const { cert, key } = readTls(paths.certPath, paths.keyPath);
    server.setSecureContext({ cert, key });
    logger.info({ cert: paths.certPath }, 'TLS certificate reloaded');
    if (context.json) context.printJson({ type: 'tls-reloaded', cert: paths.certPath });
  } catch (error) {
    logger.error({ cert: paths.certPath, err: (error as Error).message }, 'TLS certificate not reloaded; the previous one stays in use');
    if (context.json) context.printJson({ type: 'tls-reload-failed', cert: paths.certPath, error: (error as Error).message });
  }
}

/** The access log: stdout for `-`, else a file opened for appending and reopened on SIGHUP (after logrotate moved it). */
function openAccessLog(
  path: string,
  context: CommandContext,
  logger: Logger,
): { destination: AccessLogDestination; reopen(): void; close(): void } {
  if (path === '-')
    return { destination: { write: (line) => context.stdout.write(line) }, reopen: () => undefined, close: () => undefined };
  const open = () =>
    createWriteStream(path, { flags: 'a', mode: 0o640 }).on('error', (error) =>
      logger.error({ file: path, err: error.message }, 'cannot write the access log'),
    );
  let stream: WriteStream = open();
  return {
    destination: { write: (line) => stream.write(line) },
    reopen() {
      const old = stream;
      stream = open();
      old.end();
    },
    close: () => stream.end(),
  };
}
