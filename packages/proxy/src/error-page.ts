import type { IncomingMessage, ServerResponse } from 'node:http';
import { prefersJson } from '@switchyard/core/internal';

/**
 * Why a request could not be proxied. Every one is a 502 except a silent upstream (504) and a target
 * the path rule refuses (400): the proxy never answers 503, which means maintenance.
 */
export type ProxyFailure = 'bad_request' | 'no_site' | 'no_route' | 'upstream_unavailable' | 'upstream_timeout';

/** A rendered error response. */
export interface ErrorResponse {
  readonly status: 400 | 502 | 504;
  /** Content type, and `cache-control: no-store`: a proxy error must never be cached. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const FAILURES: Record<ProxyFailure, { status: 400 | 502 | 504; title: string; message: string }> = {
  bad_request: { status: 400, title: 'Bad request', message: 'The request path is ambiguous or climbs above the root.' },
  no_site: { status: 502, title: 'Bad gateway', message: 'No site is configured for this address.' },
  no_route: { status: 502, title: 'Bad gateway', message: 'This site has no server to send the request to.' },
  upstream_unavailable: {
    status: 502,
    title: 'Bad gateway',
    message: 'The server of this site is not answering. Please try again in a moment.',
  },
  upstream_timeout: {
    status: 504,
    title: 'Gateway timeout',
    message: 'The server of this site took too long to answer. Please try again in a moment.',
  },
};

/** The status of a failure. */
export function failureStatus(failure: ProxyFailure): 400 | 502 | 504 {
  return FAILURES[failure].status;
}

/** Renders a failure as a small HTML page, or as JSON `{ error, message }` when the client prefers JSON. */
export function renderFailure(req: IncomingMessage, failure: ProxyFailure): ErrorResponse {
  const { status, title, message } = FAILURES[failure];
  if (prefersJson(req)) {
    return { status, headers: headers('application/json; charset=utf-8'), body: JSON.stringify({ error: failure, message }) };
  }
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${status} ${title}</title>
<style>
:root{color-scheme:light dark}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:34rem;margin:1rem;padding:2rem 1.5rem}
h1{margin:0 0 .75rem;font-size:1.5rem}
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p>${message}</p>
</main>
</body>
</html>
`;
  return { status, headers: headers('text/html; charset=utf-8'), body };
}

function headers(contentType: string): Record<string, string> {
  return { 'content-type': contentType, 'cache-control': 'no-store' };
}

/** Answers a plain `http` response with the failure's page. */
export function sendFailure(req: IncomingMessage, res: ServerResponse, failure: ProxyFailure): void {
  const page = renderFailure(req, failure);
  res.writeHead(page.status, { ...page.headers, 'content-length': Buffer.byteLength(page.body) });
  res.end(page.body);
}
