import type { IncomingMessage, ServerResponse } from 'node:http';

/** Header names in lower case; a repeated header is an array. */
export type HeaderMap = Record<string, string | string[]>;

/** The request about to go upstream: a `proxyReq` hook may change its method, path (with query) and headers. */
export interface UpstreamRequest {
  method: string;
  path: string;
  headers: HeaderMap;
}

/** The upstream's response head: a `proxyRes` hook may change the headers before they reach the client. */
export interface UpstreamResponse {
  readonly statusCode: number;
  headers: HeaderMap;
}

/**
 * Hooks into each proxied exchange, named as in http-proxy-middleware's `on` option. They run on the
 * request path, synchronously: keep them cheap. Without hooks the engine takes its fast path.
 */
export interface ProxyHooks {
  /** Before the request goes upstream (after hop-by-hop stripping and X-Forwarded-*). */
  proxyReq?(upstreamRequest: UpstreamRequest, req: IncomingMessage, res: ServerResponse): void;
  /** When the upstream's response head arrives, before it is written to the client. */
  proxyRes?(upstreamResponse: UpstreamResponse, req: IncomingMessage, res: ServerResponse): void;
  /**
   * When the exchange fails (upstream refused, silent, reset). If the hook answers the client itself
   * (`res.headersSent`), the proxy's own 502/504 page is not sent. Not called when the client left.
   */
  error?(error: Error, req: IncomingMessage, res: ServerResponse): void;
}

/** `[name, value, …]` → a HeaderMap. */
export function toHeaderMap(flat: readonly string[]): HeaderMap {
  const map: HeaderMap = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const existing = map[name];
    if (existing === undefined) map[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else map[name] = [existing, value];
  }
  return map;
}

/** A HeaderMap → `[name, value, …]`. */
export function toFlatHeaders(map: HeaderMap): string[] {
  const flat: string[] = [];
  for (const [name, value] of Object.entries(map)) {
    if (Array.isArray(value)) for (const item of value) flat.push(name, String(item));
    else if (value !== undefined) flat.push(name, String(value));
  }
  return flat;
}
