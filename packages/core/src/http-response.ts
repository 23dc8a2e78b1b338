import type { IncomingMessage, ServerResponse } from 'node:http';
import { prefersJson } from './negotiation';
import { marksOnObject } from './request-mark';

/** An HTTP token (RFC 9110 §5.6.2): what a method, a header name or a cookie name must be. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A character Node's `writeHead` refuses in a header value or reason phrase (the same test as Node's). */
export const INVALID_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The one place that shapes and writes the small responses Switchyard answers itself: maintenance
 * refusals and bypass grants, the proxy's 502/504, and the 400 of the path rule. Every one carries
 * `Cache-Control: no-store` (a cached 503 or 502 outlives the outage), HEAD gets the headers without
 * the body, and the body is JSON or the one HTML template by what the client prefers.
 */

/** A response Switchyard answers with instead of passing the request on. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Omitted on the wire for HEAD requests. */
  readonly body: string;
}

/** What the one HTML template shows. Text is plain: it is escaped here. */
export interface HtmlPage {
  readonly title: string;
  readonly message: string;
  /** A second, quieter line (e.g. when the site is expected back); omitted when empty. */
  readonly note?: string;
  /** Seconds after which the page reloads itself (`<meta http-equiv="refresh">`). */
  readonly refreshSeconds?: number;
}

/** What a message response says: `error` is the machine-readable code of the JSON body. */
export interface MessageResponse {
  readonly status: number;
  readonly error: string;
  readonly title: string;
  readonly message: string;
  /** Extra fields of the JSON body (after `error` and `message`). */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Extra headers (e.g. Retry-After); Content-Type and Cache-Control are set here. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Extra content of the HTML page. */
  readonly note?: string;
  readonly refreshSeconds?: number;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** JSON with `<` escaped, so a message can never read as markup even if the body is sniffed or embedded. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** `Cache-Control: no-store` and the Content-Type of a JSON body. */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
};

/** `Cache-Control: no-store` and the Content-Type of an HTML body. */
export const HTML_HEADERS: Readonly<Record<string, string>> = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' };

/** The one HTML template: self-contained (inline CSS, no scripts or external assets), readable on a phone. */
export function renderHtmlPage(page: HtmlPage): string {
  const title = escapeHtml(page.title);
  const refresh = page.refreshSeconds === undefined ? '' : `<meta http-equiv="refresh" content="${page.refreshSeconds}">\n`;
  const note = page.note ? `<p class="note">${escapeHtml(page.note)}</p>\n` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
${refresh}<title>${title}</title>
<style>
:root{color-scheme:light dark}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f5f7;color:#1f2328;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{box-sizing:border-box;width:100%;max-width:34rem;margin:1rem;padding:2rem 1.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{margin:0 0 .75rem;font-size:1.5rem;line-height:1.25}
p{margin:0 0 .75rem;white-space:pre-line;overflow-wrap:anywhere}
.note{margin:0;color:#57606a}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}main{background:#161b22}.note{color:#8b949e}}
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p>${escapeHtml(page.message)}</p>
${note}</main>
</body>
</html>
`;
}

/** A status with a message: JSON `{ error, message, ...fields }` when the client prefers JSON, else the HTML page. */
export function messageResponse(req: IncomingMessage, response: MessageResponse): HttpResponse {
  const { status, error, title, message } = response;
  if (prefersJson(req)) {
    return { status, headers: { ...response.headers, ...JSON_HEADERS }, body: safeJson({ error, message, ...response.fields }) };
  }
  const body = renderHtmlPage({ title, message, note: response.note, refreshSeconds: response.refreshSeconds });
  return { status, headers: { ...response.headers, ...HTML_HEADERS }, body };
}

/** The 400 of the path rule (request-path.ts): the reason is safe to show, it names no input. */
export function badRequestResponse(req: IncomingMessage, reason: string): HttpResponse {
  return messageResponse(req, {
    status: 400,
    error: 'bad_request',
    title: 'Bad request',
    message: `The request path was refused: ${reason}.`,
  });
}

// A symbol-keyed property on Node's own responses, a WeakMap entry on others (request-mark.ts says why).
const ADDED = Symbol('switchyard.addedHeaders');
type WithAdded = ServerResponse & { [ADDED]?: string[] };
const addedElsewhere = new WeakMap<ServerResponse, string[]>();
const addedHeaders = (res: ServerResponse): string[] | undefined => {
  const own = (res as WithAdded)[ADDED];
  return marksOnObject(res, own) ? own : addedElsewhere.get(res);
};

/**
 * A header every response to this request carries, whoever writes it (the front door's
 * X-Request-Id). Kept aside instead of `res.setHeader`: one header set that way moves the proxied
 * response's `writeHead` off Node's fast path (a remove and an append per upstream header), which
 * cost the front door about a tenth of its throughput. Writers add them: the proxy's exchange to its
 * header list, every other writer with `applyAddedHeaders`.
 */
export function addResponseHeader(res: ServerResponse, name: string, value: string): void {
  const own = (res as WithAdded)[ADDED];
  if (marksOnObject(res, own)) {
    if (own) own.push(name, value);
    else (res as WithAdded)[ADDED] = [name, value];
    return;
  }
  const list = addedElsewhere.get(res);
  if (list) list.push(name, value);
  else addedElsewhere.set(res, [name, value]);
}

/** Sets the added headers with `setHeader`, for writers that set headers one by one. */
export function applyAddedHeaders(res: ServerResponse): void {
  const list = addedHeaders(res);
  if (!list || res.headersSent) return;
  for (let i = 0; i < list.length; i += 2) res.setHeader(list[i]!, list[i + 1]!);
}

/**
 * A flat `[name, value, …]` header list with the added headers appended, except those the list
 * already names (an upstream's own X-Request-Id wins, as it would over `setHeader`).
 */
export function withAddedHeaders(res: ServerResponse, headers: string[]): string[] {
  const list = addedHeaders(res);
  if (!list) return headers;
  outer: for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    // The length first: most names differ in it, and then no lower-cased copy is made.
    for (let j = 0; j < headers.length; j += 2) {
      const other = headers[j]!;
      if (other.length === name.length && other.toLowerCase() === name) continue outer;
    }
    headers.push(list[i]!, list[i + 1]!);
  }
  return headers;
}

/**
 * Writes `response` on a plain ServerResponse: Content-Length, no body for HEAD, and nothing at all
 * when a response has already started or the client is gone.
 */
export function writeResponse(req: IncomingMessage, res: ServerResponse, response: HttpResponse): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = response.status;
  applyAddedHeaders(res);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.setHeader('Content-Length', Buffer.byteLength(response.body));
  res.end(req.method === 'HEAD' ? undefined : response.body);
}
