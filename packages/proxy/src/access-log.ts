import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, requestInfo } from '@switchyard/core';
import { createClientAddress, type TrustProxy } from '@switchyard/maintenance';

/** Called when a request arrives, before anything answers it; it may listen for the response's end. */
export type RequestObserver = (req: IncomingMessage, res: ServerResponse) => void;

/** Where access log lines go: a function given each JSON line (newline included), or a logger (level info, message `request`). */
export type AccessLogDestination = { write(line: string): unknown } | Logger;

/** Options of createAccessLog. */
export interface AccessLogOptions {
  destination: AccessLogDestination;
  /** Decides the `client` field, as for maintenance's allow-list. Default false (the socket peer). */
  trustProxy?: TrustProxy;
  /** The maintenance bypass cookie's name (default `switchyard_bypass`): a response setting it answered the secret URL, whose path is not logged. */
  bypassCookieName?: string;
}

/** One access log line. Header values (cookies, authorization) and the query string are never logged. */
export interface AccessLogEntry {
  readonly time: string;
  readonly method: string;
  /** The path without its query string (which may carry tokens); `[bypass secret]` for the maintenance secret URL. */
  readonly path: string;
  readonly status: number;
  /** Bytes written to the client for this response, headers included (nginx's `$bytes_sent`). */
  readonly bytes: number;
  readonly durationMs: number;
  readonly site: string | null;
  readonly target: string | null;
  readonly requestId: string | null;
  /** The client's address as `trustProxy` decides it. */
  readonly client: string;
  readonly maintenance?: string;
  readonly upstreamFailure?: string;
  /** True when the connection closed before the response was complete. */
  readonly aborted?: true;
}

const MAX_PATH = 2048;

/**
 * An observer writing one JSON line per request when its response ends (`createFrontDoor` takes
 * `accessLog: destination` and builds it; Koa/Express apps call it first thing in their own
 * middleware: `(req, res, next) => { log(req, res); next(); }`).
 */
export function createAccessLog(options: AccessLogOptions): RequestObserver {
  const client = createClientAddress(options.trustProxy);
  const cookiePrefix = `${options.bypassCookieName ?? 'switchyard_bypass'}=`;
  const { destination } = options;
  const emit =
    'info' in destination
      ? (entry: AccessLogEntry) => destination.info({ ...entry }, 'request')
      : (entry: AccessLogEntry) => destination.write(`${JSON.stringify(entry)}\n`);
  return (req, res) => {
    const started = performance.now();
    const socket = req.socket;
    const bytesBefore = socket.bytesWritten;
    // Read now: once the connection has closed, `req.socket` is gone.
    const address = client.ip(req);
    // `on`, not `once`: a response closes once, and `once` would wrap the listener on every request.
    res.on('close', () => {
      const info = requestInfo(req);
      const id = req.headers['x-request-id'];
      emit({
        time: new Date().toISOString(),
        method: req.method ?? '',
        path: setsCookie(res, cookiePrefix) ? '[bypass secret]' : pathOf(req),
        status: res.statusCode,
        bytes: socket.bytesWritten - bytesBefore,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        site: info?.site ?? null,
        target: info?.target ?? null,
        requestId: typeof id === 'string' ? id : null,
        client: address,
        ...(info?.maintenance ? { maintenance: info.maintenance } : {}),
        ...(info?.upstreamFailure ? { upstreamFailure: info.upstreamFailure } : {}),
        ...(res.writableFinished ? {} : { aborted: true as const }),
      });
    });
  };
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path;
}

function setsCookie(res: ServerResponse, prefix: string): boolean {
  const header = res.getHeader('set-cookie');
  if (header === undefined) return false;
  const values = Array.isArray(header) ? header : [String(header)];
  return values.some((value) => value.startsWith(prefix));
}
