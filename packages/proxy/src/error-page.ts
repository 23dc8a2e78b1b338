import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequestResponse, canonicalizeRequest, type HttpResponse, messageResponse, writeResponse } from '@switchyard/core/internal';

/**
 * Why a request could not be proxied. Every one is a 502 except a silent upstream (504), a target
 * the path rule refuses (400), a path outside `pathFilter` with nobody after the proxy (404) and a
 * request body a body parser already read and that cannot be sent again (500): the proxy never
 * answers 503, which means maintenance.
 */
export type ProxyFailure =
  | 'bad_request'
  | 'not_proxied'
  | 'body_consumed'
  | 'no_site'
  | 'no_route'
  | 'upstream_unavailable'
  | 'upstream_timeout';

type Gateway = Exclude<ProxyFailure, 'bad_request'>;

const FAILURES: Record<Gateway, { status: 404 | 500 | 502 | 504; title: string; message: string }> = {
  not_proxied: { status: 404, title: 'Not found', message: 'Nothing is served at this address.' },
  body_consumed: {
    status: 500,
    title: 'Server error',
    message: 'The front end read the request body before proxying it; mount body parsers after the proxy.',
  },
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
export function failureStatus(failure: ProxyFailure): 400 | 404 | 500 | 502 | 504 {
  return failure === 'bad_request' ? 400 : FAILURES[failure].status;
}

/**
 * The failure's response, shaped by core's one response writer: the page or JSON `{ error, message }`
 * by what the client prefers, `Cache-Control: no-store`; the path rule's 400 is the same one
 * maintenance answers.
 */
export function failureResponse(req: IncomingMessage, failure: ProxyFailure): HttpResponse {
  if (failure === 'bad_request') {
    const canonical = canonicalizeRequest(req);
    return badRequestResponse(req, canonical.ok ? 'not a valid request target' : canonical.reason);
  }
  const { status, title, message } = FAILURES[failure];
  return messageResponse(req, { status, error: failure, title, message });
}

/** Answers a plain `http` response with the failure's page (no body for HEAD; nothing once a response has started). */
export function sendFailure(req: IncomingMessage, res: ServerResponse, failure: ProxyFailure): void {
  writeResponse(req, res, failureResponse(req, failure));
}
