import type { IncomingMessage } from 'node:http';
import { stringify } from 'node:querystring';
import { SwitchyardError } from '@switchyard/core';

/**
 * Which requests the proxy handles; the others go to `next()` (Koa, Express) or get a 404 (plain
 * `http`). A string is a path prefix on segment boundaries (`/api` matches `/api`, `/api/x` and
 * `/api?q`, not `/apix`); a list matches when any entry does; a function decides from the path (no
 * query) and the request. It judges the canonical path (docs/maintenance.md, "The path rule"), so it
 * agrees with maintenance and with what is forwarded.
 */
export type PathFilter = string | readonly string[] | ((path: string, req: IncomingMessage) => boolean);

/**
 * How the forwarded path is changed, as in http-proxy-middleware: an object whose keys are regular
 * expressions tried in order on the path and query (the first that matches is replaced by its value),
 * or a function `(pathAndQuery, req) => newPathAndQuery`. It runs after maintenance and the filter
 * judged the client's canonical path; its result must start with `/`.
 */
export type PathRewrite = Readonly<Record<string, string>> | ((pathAndQuery: string, req: IncomingMessage) => string);

/** A compiled PathFilter. */
export type RequestFilter = (path: string, req: IncomingMessage) => boolean;
/** A compiled PathRewrite. */
export type Rewriter = (pathAndQuery: string, req: IncomingMessage) => string;

/** Compiles a PathFilter; throws SWITCHYARD_ERR_INVALID_OPTION when it cannot work. */
export function compilePathFilter(filter: PathFilter | undefined): RequestFilter | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter === 'function') return filter;
  const prefixes = (typeof filter === 'string' ? [filter] : filter).map((prefix) => {
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
      throw invalid(`pathFilter entries must be paths starting with "/", not ${JSON.stringify(prefix)}`);
    }
    return prefix.replace(/\/+$/, '');
  });
  return (path) => prefixes.some((prefix) => prefix === '' || path === prefix || path.startsWith(`${prefix}/`));
}

/** Compiles a PathRewrite; throws SWITCHYARD_ERR_INVALID_OPTION for a rule that is not a valid regular expression. */
export function compilePathRewrite(rewrite: PathRewrite | undefined): Rewriter | undefined {
  if (rewrite === undefined) return undefined;
  if (typeof rewrite === 'function') return rewrite;
  const rules = Object.entries(rewrite).map(([pattern, replacement]) => {
    try {
      return { pattern: new RegExp(pattern), replacement };
    } catch (error) {
      throw invalid(`pathRewrite key ${JSON.stringify(pattern)} is not a regular expression: ${(error as Error).message}`);
    }
  });
  return (pathAndQuery) => {
    for (const { pattern, replacement } of rules) {
      if (pattern.test(pathAndQuery)) return pathAndQuery.replace(pattern, replacement);
    }
    return pathAndQuery;
  };
}

/** What to send upstream as the request body. */
export type RequestBody =
  | { readonly kind: 'stream' }
  | { readonly kind: 'none' }
  | { readonly kind: 'resend'; readonly body: Buffer }
  | { readonly kind: 'consumed'; readonly contentType: string };

/**
 * Decides the upstream body. Normally the client's body streams through. When a body parser mounted
 * before the proxy already read it (the stream has ended), the parsed body is sent again for JSON and
 * URL-encoded bodies (as http-proxy-middleware's `fixRequestBody` does) and a raw Buffer (`express.raw()`)
 * as is; anything else cannot be rebuilt faithfully and is `consumed`: the engine answers at once
 * instead of waiting for a body that will never come.
 */
export function requestBody(req: IncomingMessage): RequestBody {
  const headers = req.headers;
  if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return { kind: 'none' };
  if (!req.readableEnded) return { kind: 'stream' };
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  const contentType = (headers['content-type'] ?? '').toLowerCase();
  if (Buffer.isBuffer(parsed)) return { kind: 'resend', body: parsed };
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object') {
    if (/[/+]json\b/.test(contentType)) return { kind: 'resend', body: Buffer.from(JSON.stringify(parsed)) };
    if (contentType.startsWith('application/x-www-form-urlencoded')) {
      return { kind: 'resend', body: Buffer.from(stringify(parsed as Parameters<typeof stringify>[0])) };
    }
  }
  return { kind: 'consumed', contentType };
}

function invalid(message: string): SwitchyardError {
  return new SwitchyardError('SWITCHYARD_ERR_INVALID_OPTION', message);
}
