import type { IncomingMessage } from 'node:http';

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the ones RFC 9110
 * treats alike for a proxy: never forwarded in either direction. `Upgrade` goes only with an upgrade
 * (WebSockets take their own path); `Expect` was already answered by Node's server (`100 Continue`).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Headers a `Connection` list can never remove: Host, and those the proxy sets itself. A client
 * sending `Connection: X-Forwarded-For` must not strip the front end's own X-Forwarded-For.
 */
const PROTECTED = new Set(['host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-proto']);

/** What the engine needs to know to build the upstream request's headers. */
export interface ForwardedFacts {
  /** The target's `host[:port]`, sent as Host when `changeOrigin` is on. */
  readonly targetHost: string;
  readonly changeOrigin: boolean;
}

/**
 * The names a `Connection` header lists (lower case), besides `close`/`keep-alive`, which are
 * hop-by-hop already. Most messages have no `Connection` header or only one of those two tokens, so
 * the common case allocates nothing.
 */
function listedByConnection(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  // Nearly every response of a keep-alive upstream says just this: no list to split.
  if (value === 'keep-alive' || value === 'close') return undefined;
  let listed: Set<string> | undefined;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || HOP_BY_HOP.has(name) || PROTECTED.has(name)) continue;
    listed ??= new Set();
    listed.add(name);
  }
  return listed;
}

/**
 * The headers to send upstream, as a flat `[name, value, …]` list in the client's order and spelling:
 * the client's headers minus the hop-by-hop set, minus what its `Connection` header lists (never Host
 * or X-Forwarded-*), minus `Expect`; then X-Forwarded-For/-Port/-Proto appended to any the client sent
 * (as http-proxy's `xfwd` does) and X-Forwarded-Host set to the client's own or its Host — all after
 * the stripping, so nothing a client sends can remove them.
 */
export function upstreamRequestHeaders(req: IncomingMessage, facts: ForwardedFacts): string[] {
  const raw = req.rawHeaders;
  const listed = listedByConnection(req.headers.connection);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let forwardedPort: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    switch (lower) {
      case 'host':
        host ??= value;
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor},${value}`;
        continue;
      case 'x-forwarded-port':
        forwardedPort = forwardedPort === undefined ? value : `${forwardedPort},${value}`;
        continue;
      case 'x-forwarded-proto':
        forwardedProto = forwardedProto === undefined ? value : `${forwardedProto},${value}`;
        continue;
      case 'x-forwarded-host':
        forwardedHost ??= value;
        continue;
      case 'expect':
        continue;
      default:
        if (HOP_BY_HOP.has(lower) || listed?.has(lower)) continue;
        out.push(name, value);
    }
  }
  const socket = req.socket;
  const encrypted = (socket as { encrypted?: boolean }).encrypted === true;
  const port = localPort(req, encrypted);
  const proto = encrypted ? 'https' : 'http';
  const client = socket.remoteAddress ?? '';
  if (facts.changeOrigin) out.push('host', facts.targetHost);
  else if (host !== undefined) out.push('host', host);
  out.push(
    'x-forwarded-for',
    forwardedFor === undefined ? client : `${forwardedFor},${client}`,
    'x-forwarded-port',
    forwardedPort === undefined ? port : `${forwardedPort},${port}`,
    'x-forwarded-proto',
    forwardedProto === undefined ? proto : `${forwardedProto},${proto}`,
    'x-forwarded-host',
    forwardedHost ?? host ?? '',
  );
  return out;
}

/** The port the client connected to, as http-proxy reports it: from Host when it names one, else the scheme's default. */
function localPort(req: IncomingMessage, encrypted: boolean): string {
  const host = req.headers.host;
  const match = host ? /:(\d+)$/.exec(host) : null;
  if (match) return match[1]!;
  return encrypted ? '443' : '80';
}

/**
 * The upstream's response headers to pass to the client, as a flat `[name, value, …]` list: without
 * the hop-by-hop set and what the upstream's `Connection` lists. Node's server then frames the
 * response for the client's own connection (keep-alive, or close when the client asked for it).
 */
export function clientResponseHeaders(upstream: readonly string[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < upstream.length; i += 2) {
    const name = upstream[i]!;
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      connection = connection === undefined ? upstream[i + 1]! : `${connection},${upstream[i + 1]!}`;
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    out.push(name, upstream[i + 1]!);
  }
  const listed = listedByConnection(connection);
  if (!listed) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) {
    if (!listed.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  }
  return kept;
}

/** A flat header list with its Content-Length replaced (a re-sent body has a length of its own). */
export function withContentLength(headers: readonly string[], length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'content-length') out.push(headers[i]!, headers[i + 1]!);
  }
  out.push('content-length', String(length));
  return out;
}
