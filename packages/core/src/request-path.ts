import type { IncomingMessage } from 'node:http';
import { marksOnObject } from './request-mark';

/**
 * The one path rule (docs/maintenance.md, "The path rule"). Maintenance, its allow-paths, the health
 * path, the upgrade guard and the proxy all judge the request target this module produces, and the
 * proxy forwards exactly that target: what is judged is byte for byte what the upstream receives.
 *
 * Decided as nginx does: slashes merged, then `.`/`..` segments resolved (RFC 3986 §5.2.4). Refused
 * with 400 rather than guessed at, because upstreams disagree about them: a path that climbs above
 * the root; the encodings `%2e`, `%2f`, `%5c`, `%00` (and `%c0`/`%c1`, overlong forms of them); a
 * literal backslash; a `%` not followed by two hex digits; a dot segment with a parameter (`..;`,
 * which Tomcat-style upstreams resolve); a `#`; and the asterisk form `*`. Everything else — other percent-encodings, double encodings such as `%252e`, the
 * query string — is left exactly as sent: an upstream that decodes once sees `%2e`, never `.`.
 */

/** The outcome of the path rule for one request. */
export type CanonicalRequest =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly status: 400; readonly reason: string };

/** The outcome of the path rule for one request target (a string, without the request around it). */
export type CanonicalTarget =
  | {
      readonly ok: true;
      /** The canonical path, without the query: what maintenance and the allow-lists judge. */
      readonly path: string;
      /** The canonical origin-form target: `path` plus the query exactly as sent. */
      readonly url: string;
      /** The authority of an absolute-form target (`http://host:port/...`), lower-cased. */
      readonly authority?: string;
    }
  | { readonly ok: false; readonly status: 400; readonly reason: string };

/** The outcome for a request, and the `req.url` it left: a later call with the same `req.url` is answered from here. */
// A symbol-keyed property on Node's own requests, a WeakMap entry on others (request-mark.ts says why).
const MARK = Symbol('switchyard.canonical');
type Verdict = { readonly url: string | undefined; readonly result: CanonicalRequest };
type Marked = IncomingMessage & { [MARK]?: Verdict };
const verdictsElsewhere = new WeakMap<IncomingMessage, Verdict>();

const ABSOLUTE_FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;
// Percent-encodings that would become a dot, a separator or a NUL once an upstream decodes them;
// %C0 and %C1 never start valid UTF-8 and only serve overlong forms of them (`%c0%ae` is "." to old decoders).
const AMBIGUOUS_ESCAPE = /^%(2e|2f|5c|00|c0|c1)$/i;
const NEEDS_WORK = /[%\\]|\/\/|\/\./;
const DOT_WITH_PARAMETER = /\/\.\.?;/;
const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * Applies the path rule to `req` once: rewrites `req.url` (and Express's `req.originalUrl` when it
 * still holds the same raw target) to the canonical origin-form target and returns the canonical
 * path, or says why the request must be answered 400. Idempotent: a later call on the same request
 * returns the same outcome, so maintenance and the proxy agree whichever runs first. When something
 * changed `req.url` in between — a mount point stripped or, as koa-mount does on the way out, put the
 * raw target back — the rule is applied again to what is there now, so nothing is ever forwarded
 * uncanonical.
 */
export function canonicalizeRequest(req: IncomingMessage): CanonicalRequest {
  const own = (req as Marked)[MARK];
  const onObject = marksOnObject(req, own);
  const known = onObject ? own : verdictsElsewhere.get(req);
  if (known && known.url === req.url) return known.result;
  const result = judge(req, req.url ?? '/');
  if (onObject) (req as Marked)[MARK] = { url: req.url, result };
  else verdictsElsewhere.set(req, { url: req.url, result });
  return result;
}

function judge(req: IncomingMessage, raw: string): CanonicalRequest {
  const target = canonicalizeTarget(raw);
  if (!target.ok) return target;
  if (target.authority !== undefined) {
    // RFC 9112 §3.2.2 lets the target's authority override Host; a front end that picks the site by
    // Host must not judge one host while the upstream serves another, so a disagreement is refused.
    const host = req.headers.host?.toLowerCase();
    if (host === undefined) req.headers.host = target.authority;
    else if (host !== target.authority) return refuse('the absolute-form target names another host than the Host header');
  }
  if (target.url !== raw) {
    req.url = target.url;
    const express = req as IncomingMessage & { originalUrl?: string };
    if (express.originalUrl === raw) express.originalUrl = target.url;
  }
  return { ok: true, path: target.path };
}

/**
 * The path rule applied to a request target string (origin form `/path?query`, or absolute form
 * `http://host/path?query`, which is reduced to origin form). Pure; see {@link canonicalizeRequest}.
 */
export function canonicalizeTarget(target: string): CanonicalTarget {
  if (target === '*') return refuse('the asterisk-form target "*" is not served');
  if (target.includes('#')) return refuse('a request target must not contain "#"');
  let rest = target;
  let authority: string | undefined;
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute) {
    const scheme = absolute[1]!.toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') return refuse(`the scheme "${scheme}" is not served`);
    authority = absolute[2]!.toLowerCase();
    if (authority === '' || authority.includes('@')) return refuse('the absolute-form target has no usable host');
    rest = absolute[3]!;
    if (!rest.startsWith('/')) rest = `/${rest}`;
  } else if (!target.startsWith('/')) {
    return refuse('the request target must start with "/"');
  }
  const queryAt = rest.indexOf('?');
  const rawPath = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rest.slice(queryAt);
  // Most paths have nothing to resolve or refuse: no escape, backslash, empty or dot segment.
  if (!NEEDS_WORK.test(rawPath)) {
    const plain = { ok: true as const, path: rawPath, url: rawPath + query };
    return authority === undefined ? plain : { ...plain, authority };
  }
  const problem = ambiguity(rawPath);
  if (problem) return refuse(problem);
  const path = resolveSegments(rawPath);
  if (path === undefined) return refuse('the path climbs above the root');
  const result = { ok: true as const, path, url: path + query };
  return authority === undefined ? result : { ...result, authority };
}

/** Why a raw path is ambiguous between the front end and an upstream, or undefined when it is not. */
function ambiguity(path: string): string | undefined {
  if (path.includes('\\')) return 'a backslash in the path';
  if (DOT_WITH_PARAMETER.test(path)) return 'a dot segment with a parameter (";") in the path';
  for (let at = path.indexOf('%'); at !== -1; at = path.indexOf('%', at + 1)) {
    const encoded = path.slice(at, at + 3);
    if (!HEX.test(encoded.slice(1))) return 'a "%" not followed by two hex digits';
    if (AMBIGUOUS_ESCAPE.test(encoded)) return `the encoding ${encoded} in the path`;
  }
  return undefined;
}

/**
 * Merges slashes and resolves `.` and `..`; a trailing slash (or a trailing dot segment, RFC 3986's
 * `/a/b/..` → `/a/`) is kept. Undefined when `..` would climb above the root.
 */
function resolveSegments(path: string): string | undefined {
  const segments = path.split('/');
  const kept: string[] = [];
  let directory = false;
  // segments[0] is the empty string before the leading slash.
  for (let i = 1; i < segments.length; i += 1) {
    const segment = segments[i]!;
    if (segment === '' || segment === '.') {
      // Only matters when nothing follows: `/a/` and `/a/.` stay a directory, `/a//b` is `/a/b`.
      directory = true;
    } else if (segment === '..') {
      if (kept.pop() === undefined) return undefined;
      directory = true;
    } else {
      kept.push(segment);
      directory = false;
    }
  }
  if (kept.length === 0) return '/';
  return `/${kept.join('/')}${directory ? '/' : ''}`;
}

function refuse(reason: string): { readonly ok: false; readonly status: 400; readonly reason: string } {
  return { ok: false, status: 400, reason };
}
