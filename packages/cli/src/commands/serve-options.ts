import { readFileSync } from 'node:fs';
import type { SiteSelectionOptions } from '@switchyard/core';
import { createClientAddress, type TrustProxy } from '@switchyard/maintenance';
import type { OptionSpec, ParsedArgs } from '../command';
import { parseDuration, parseWholeNumber, usageError } from '../option-values';

/**
 * The options of `switchyard serve`. Each can also come from `SWITCHYARD_<NAME>` (upper case,
 * dashes as underscores: `--max-held` is `SWITCHYARD_MAX_HELD`); a flag on the command line wins.
 */
export const SERVE_OPTIONS = {
  port: { type: 'string', short: 'p', value: '<port>', description: 'port to listen on (default 8080)' },
  host: { type: 'string', value: '<address>', description: 'address to listen on (default 0.0.0.0, every interface)' },
  'sites-by-host': { type: 'boolean', description: 'pick the site from the Host header instead of --site' },
  'fallback-site': { type: 'string', value: '<site>', description: 'with --sites-by-host: site for unknown hosts (default: 502)' },
  'trust-proxy': {
    type: 'string',
    value: '<hops|ip/cidr,…>',
    description:
      'believe X-Forwarded-For/-Proto from this many proxies in front (1) or from these proxy addresses (10.0.0.0/8,::1); default: believe nobody',
  },
  'change-origin': { type: 'boolean', description: "send the upstream its own host as Host instead of the client's" },
  'proxy-timeout': { type: 'string', value: '<duration>', description: 'how long the upstream may stay silent before a 504 (default 30s)' },
  grace: { type: 'string', value: '<duration>', description: 'how long requests in flight may finish on shutdown (default 10s)' },
  'health-path': {
    type: 'string',
    value: '<path>',
    description: 'path answered by serve itself, never forwarded: 200 once synced with Redis (default /healthz; "" turns it off)',
  },
  page: { type: 'string', value: '<file>', description: 'maintenance page template (HTML with {{message}}, {{expectedBack}}…)' },
  refresh: { type: 'string', value: '<seconds>', description: 'the maintenance page reloads itself this often' },
  'max-held': { type: 'string', value: '<n>', description: 'most requests held at once during maintenance --hold (default 1000)' },
  'snapshot-path': {
    type: 'string',
    value: '<file>',
    description: 'save the state in force here; a restart while Redis is unreachable serves it instead of failing',
  },
  'start-timeout': {
    type: 'string',
    value: '<duration>',
    description: 'how long to wait for Redis at start before serving the --snapshot-path state, or failing (default 10s)',
  },
  'tls-cert': { type: 'string', value: '<file>', description: 'serve HTTPS with this PEM certificate chain (reloaded on SIGHUP)' },
  'tls-key': { type: 'string', value: '<file>', description: 'the PEM private key of --tls-cert (reloaded on SIGHUP)' },
  'headers-timeout': { type: 'string', value: '<duration>', description: 'time a client has to send the request head (default 15s)' },
  'request-timeout': {
    type: 'string',
    value: '<duration>',
    description: 'time a client has to send the whole request, body included; slower uploads are cut with 408 (default 5m; 0: none)',
  },
  'keep-alive-timeout': { type: 'string', value: '<duration>', description: 'how long an idle client connection stays open (default 5s)' },
  'access-log': {
    type: 'string',
    value: '<file|->',
    description: 'write one JSON line per request to this file (reopened on SIGHUP), or - for stdout',
  },
  'metrics-port': {
    type: 'string',
    value: '<port>',
    description: 'serve Prometheus metrics at /metrics on this port, a listener of its own (default: off)',
  },
  'metrics-host': { type: 'string', value: '<address>', description: 'address of the metrics listener (default 127.0.0.1)' },
} as const satisfies Record<string, OptionSpec>;

type ServeOption = keyof typeof SERVE_OPTIONS;

/** Everything `serve` was told, validated. */
export interface ServeConfig {
  readonly port: number;
  readonly host: string;
  readonly selection: SiteSelectionOptions & { site?: string };
  readonly trustProxy: TrustProxy;
  readonly changeOrigin: boolean;
  readonly proxyTimeoutMs: number;
  readonly graceMs: number;
  readonly healthPath: string;
  readonly page: string | undefined;
  readonly refresh: number | undefined;
  readonly maxHeld: number | undefined;
  readonly snapshotPath: string | undefined;
  readonly startTimeoutMs: number;
  readonly tls: { readonly certPath: string; readonly keyPath: string; readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly timeouts: { readonly headersTimeoutMs: number; readonly requestTimeoutMs: number; readonly keepAliveTimeoutMs: number };
  readonly accessLog: string | undefined;
  readonly metrics: { readonly port: number; readonly host: string } | undefined;
}

/** The name of the environment variable standing for a serve option. */
export function environmentName(option: string): string {
  return `SWITCHYARD_${option.toUpperCase().replace(/-/g, '_')}`;
}

/** Reads and validates serve's options; every mistake is a usage error naming the flag or variable it came from. */
export function readServeConfig(args: ParsedArgs, env: NodeJS.ProcessEnv, siteFlag: string | undefined): ServeConfig {
  const source = (name: ServeOption): { text: string; label: string } | undefined => {
    const flag = args.string(name);
    if (flag !== undefined) return { text: flag, label: `--${name}` };
    // An empty variable (a blank line in an EnvironmentFile) counts as unset.
    const variable = env[environmentName(name)];
    return variable === undefined || variable === '' ? undefined : { text: variable, label: environmentName(name) };
  };
  const text = (name: ServeOption): string | undefined => source(name)?.text;
  const flag = (name: ServeOption): boolean => {
    if (args.flag(name)) return true;
    const variable = env[environmentName(name)];
    if (variable === undefined || /^(0|false|no|off|)$/i.test(variable.trim())) return false;
    if (/^(1|true|yes|on)$/i.test(variable.trim())) return true;
    throw usageError(`invalid ${environmentName(name)} ${JSON.stringify(variable)}: expected 1 or 0`);
  };
  // The shared parsers name the flag; a value from the environment must name its variable instead.
  const parsed = <T>(name: ServeOption, parse: (value: string) => T): T | undefined => {
    const given = source(name);
    if (!given) return undefined;
    try {
      return parse(given.text);
    } catch (error) {
      throw usageError((error as Error).message.replace(`--${name}`, given.label));
    }
  };
  const duration = (name: ServeOption, fallback: string) =>
    parsed(name, (value) => parseDuration(value, name)) ?? parseDuration(fallback, name);

  const tlsCert = source('tls-cert');
  const tlsKey = source('tls-key');
  if (Boolean(tlsCert) !== Boolean(tlsKey)) throw usageError('--tls-cert and --tls-key go together: give both PEM files, or neither');
  const metricsPort = parsed('metrics-port', (value) => parseWholeNumber(value, 'metrics-port', 0, 65_535));
  if (metricsPort === undefined && source('metrics-host')) throw usageError('--metrics-host only goes with --metrics-port');
  return {
    port: parsed('port', (value) => parseWholeNumber(value, 'port', 0, 65_535)) ?? 8080,
    host: text('host') ?? '0.0.0.0',
    selection: siteSelection(siteFlag ?? (env.SWITCHYARD_SITE || undefined), flag('sites-by-host'), text('fallback-site')),
    trustProxy: parsed('trust-proxy', parseTrustProxy) ?? false,
    changeOrigin: flag('change-origin'),
    proxyTimeoutMs: duration('proxy-timeout', '30s'),
    graceMs: duration('grace', '10s'),
    healthPath:
      parsed('health-path', (value) => {
        if (value !== '' && !/^\/[^?#\s]*$/.test(value))
          throw usageError(`invalid --health-path ${JSON.stringify(value)}: expected a path like /healthz`);
        return value;
      }) ?? '/healthz',
    page: text('page'),
    refresh: parsed('refresh', (value) => parseWholeNumber(value, 'refresh', 1, 86_400)),
    maxHeld: parsed('max-held', (value) => parseWholeNumber(value, 'max-held', 0, 1_000_000)),
    snapshotPath: text('snapshot-path') || undefined,
    startTimeoutMs: Math.max(1, duration('start-timeout', '10s')),
    tls: tlsCert && tlsKey ? { certPath: tlsCert.text, keyPath: tlsKey.text, ...readTls(tlsCert.text, tlsKey.text) } : undefined,
    timeouts: {
      headersTimeoutMs: Math.max(1, duration('headers-timeout', '15s')),
      requestTimeoutMs: duration('request-timeout', '5m'),
      keepAliveTimeoutMs: Math.max(1, duration('keep-alive-timeout', '5s')),
    },
    accessLog: text('access-log') || undefined,
    metrics: metricsPort === undefined ? undefined : { port: metricsPort, host: text('metrics-host') ?? '127.0.0.1' },
  };
}

/** Reads the certificate and key; a missing or unreadable file is a usage error. */
export function readTls(certPath: string, keyPath: string): { cert: Buffer; key: Buffer } {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw usageError(
        `cannot read the TLS ${what} ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  };
  return { cert: read(certPath, 'certificate'), key: read(keyPath, 'key') };
}

/**
 * `--trust-proxy` takes a hop count or the proxies' addresses. A bare "believe every proxy" is not
 * offered: with it any client can claim an allow-listed address by sending X-Forwarded-For.
 */
function parseTrustProxy(value: string): TrustProxy {
  const text = value.trim();
  if (/^\d+$/.test(text)) return parseWholeNumber(text, 'trust-proxy', 0, 100);
  if (/^(true|yes|on|all)$/i.test(text)) {
    throw usageError(
      `--trust-proxy ${text} would believe any client's X-Forwarded-For; give the number of proxies in front of serve (e.g. 1) or their addresses (e.g. 10.0.0.0/8)`,
    );
  }
  if (/^(false|no|off|none)$/i.test(text)) return false;
  const list = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  try {
    createClientAddress(list);
  } catch (error) {
    throw usageError(
      `invalid --trust-proxy ${JSON.stringify(value)}: ${(error as Error).message.replace(/^trustProxy: /, '')}; expected a hop count or IPs/CIDRs`,
    );
  }
  return list;
}

function siteSelection(
  site: string | undefined,
  sitesByHost: boolean,
  fallbackSite: string | undefined,
): SiteSelectionOptions & { site?: string } {
  if (sitesByHost) {
    if (site !== undefined) throw usageError('use --site or --sites-by-host, not both');
    return { sitesByHost: true, ...(fallbackSite !== undefined ? { fallbackSite } : {}) };
  }
  if (fallbackSite !== undefined) throw usageError('--fallback-site only goes with --sites-by-host');
  return { site: site ?? 'default' };
}
