import type { MaintenanceState } from '@switchyard/core';
import { HTML_HEADERS, type HttpResponse, JSON_HEADERS, safeJson } from '@switchyard/core/internal';
import type { MaintenancePageInfo } from './options';
import { expectedBackText } from './page';

/** A response the middleware answers with instead of passing the request on: core's one response shape. */
export type MaintenanceResponse = HttpResponse;

const DEFAULT_MESSAGE = 'We are doing some maintenance and will be back shortly.';
const READ_ONLY_MESSAGE = 'We are doing some maintenance: you can look around, but changes cannot be saved right now.';

/** What goes into a refusal, besides the state. */
export interface RefusalContext {
  readonly site: string;
  readonly state: MaintenanceState;
  readonly json: boolean;
  readonly now: number;
  readonly refresh: number | undefined;
  readonly renderPage: (info: MaintenancePageInfo) => string;
}

/** When a refused client may come back, and the headers every refusal carries. */
export interface RefusalTiming {
  /** The expected end from `until`, when it is still ahead. */
  readonly until: Date | undefined;
  readonly retryAfterSeconds: number | undefined;
  /** `Cache-Control: no-store`, and `Retry-After` when the end is known. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The timing of a refusal, shared by maintenance responses and refused WebSocket handshakes. */
export function refusalTiming(state: MaintenanceState, now: number): RefusalTiming {
  const end = Date.parse(state.until ?? '');
  // An `until` already past means "later than planned": no promise is better than Retry-After: 0 and a stampede.
  const until = end > now ? new Date(end) : undefined;
  const retryAfterSeconds = until ? Math.ceil((end - now) / 1000) : state.retryAfter;
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  if (until) headers['Retry-After'] = until.toUTCString();
  else if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  return { until, retryAfterSeconds, headers };
}

/** The maintenance response: status, Retry-After, no-store, and the HTML page or the JSON error. */
export function refusalResponse(context: RefusalContext): MaintenanceResponse {
  const { site, state, now, refresh } = context;
  const status = state.status ?? 503;
  const message = state.message || (state.mode === 'read-only' ? READ_ONLY_MESSAGE : DEFAULT_MESSAGE);
  const { until, retryAfterSeconds, headers: timingHeaders } = refusalTiming(state, now);
  if (context.json) {
    const body = { error: 'maintenance', message, retryAfter: retryAfterSeconds ?? null, ...(until ? { until: until.toISOString() } : {}) };
    return { status, headers: { ...timingHeaders, ...JSON_HEADERS }, body: safeJson(body) };
  }
  const headers = { ...timingHeaders, ...HTML_HEADERS };
  const info: MaintenancePageInfo = {
    site,
    state,
    status,
    message,
    retryAfterSeconds,
    until,
    expectedBack: expectedBackText(retryAfterSeconds, until),
    refresh,
  };
  return { status, headers, body: context.renderPage(info) };
}
