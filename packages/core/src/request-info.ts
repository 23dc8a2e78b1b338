import type { IncomingMessage } from 'node:http';
import { marksOnObject } from './request-mark';

/** Why the upstream exchange of a proxied request failed: connection refused, silence past the timeout, or a reset/other socket error. */
export type UpstreamFailureKind = 'refused' | 'timeout' | 'reset';

/** What maintenance did with a request, when it did anything. */
export type MaintenanceOutcome = 'refused' | 'held' | 'bypassed';

/**
 * What the middleware learned about one request, for metrics and access logs: the proxy notes the
 * site and target (values from the store, never from the request, so label cardinality stays
 * bounded) and any upstream failure; maintenance notes what it did.
 */
export interface RequestInfo {
  site?: string;
  target?: string;
  upstreamFailure?: UpstreamFailureKind;
  maintenance?: MaintenanceOutcome;
}

// A symbol-keyed property on Node's own requests, a WeakMap entry on others (request-mark.ts says why).
const INFO = Symbol('switchyard.requestInfo');
type Noted = IncomingMessage & { [INFO]?: RequestInfo };
const notedElsewhere = new WeakMap<IncomingMessage, RequestInfo>();

/** Adds facts about a request (later facts overwrite earlier ones of the same name). */
export function noteRequest(req: IncomingMessage, facts: RequestInfo): void {
  const own = (req as Noted)[INFO];
  const onObject = marksOnObject(req, own);
  const info = onObject ? own : notedElsewhere.get(req);
  if (info) Object.assign(info, facts);
  else if (onObject) (req as Noted)[INFO] = { ...facts };
  else notedElsewhere.set(req, { ...facts });
}

/** What has been noted about a request, if anything. */
export function requestInfo(req: IncomingMessage): Readonly<RequestInfo> | undefined {
  const own = (req as Noted)[INFO];
  return marksOnObject(req, own) ? own : notedElsewhere.get(req);
}
