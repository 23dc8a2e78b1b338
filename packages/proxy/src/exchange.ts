import type { IncomingMessage, ServerResponse } from 'node:http';
import { applyAddedHeaders, withAddedHeaders } from '@switchyard/core/internal';
import { clientResponseHeaders } from './headers';
import { type ProxyHooks, toFlatHeaders, toHeaderMap } from './hooks';
import type { UpstreamHandler } from './upstream-client';

/** What an exchange reports back to the engine that started it. */
export interface ExchangeOwner {
  /** The owner's hooks (`on.proxyRes` runs here). */
  readonly options: { readonly on: ProxyHooks | undefined };
  /** The response head arrived: the upstream answers (the engine logs a recovery). */
  answered(exchange: Exchange): void;
  /** The exchange failed: the upstream, or the client going away (`clientGone`). */
  failed(exchange: Exchange, error: Error, clientGone: boolean): void;
}

/** The reason an exchange is aborted when its client went away; never reported as an upstream failure. */
export const CLIENT_GONE = new Error('the client went away');

/**
 * One proxied request, as the upstream pool's handler: streams the upstream's response to `res` with
 * back-pressure (the pool stops reading the upstream socket while `res` is full), aborts the upstream
 * request when the client goes away, and hands failures to its owner. A class rather than closures:
 * one allocation per request on the hot path.
 */
export class Exchange implements UpstreamHandler {
  private abortUpstream: ((reason: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private settled = false;
  /** Set by abort() before the pool handed over its abort function. */
  private abortReason: Error | undefined;

  constructor(
    private readonly owner: ExchangeOwner,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly site: string,
    readonly target: string,
    /** Called once when the client's response closes (finished or not): ends the in-flight count. */
    private readonly done: () => void,
  ) {
    // `on`, not `once`: a response closes once, and `once` would wrap the listener on every request.
    res.on('close', this.onClientClose);
  }

  onConnect(abort: (reason: Error) => void): void {
    this.abortUpstream = abort;
    // Queued for a free connection while the client left: do not start the exchange at all.
    if (this.res.destroyed) abort(CLIENT_GONE);
    else if (this.abortReason) abort(this.abortReason);
  }

  /** Ends the exchange early; the owner's `failed` gets `reason`. */
  abort(reason: Error): void {
    if (this.settled) return;
    if (this.abortUpstream) this.abortUpstream(reason);
    else this.abortReason = reason;
  }

  onHeaders(statusCode: number, upstreamHeaders: string[], resume: () => void, statusText: string): void {
    this.resumeUpstream = resume;
    this.owner.answered(this);
    const res = this.res;
    let headers = clientResponseHeaders(upstreamHeaders);
    const proxyRes = this.owner.options.on?.proxyRes;
    if (proxyRes) {
      const upstreamResponse = { statusCode, headers: toHeaderMap(headers) };
      proxyRes(upstreamResponse, this.req, res);
      headers = toFlatHeaders(upstreamResponse.headers);
    }
    if (res.getHeaderNames().length > 0) {
      // A framework set headers already (Express's X-Powered-By): writeHead would merge the list with
      // setHeader and keep only the last of repeated headers (Set-Cookie). Append instead.
      applyAddedHeaders(res);
      for (let i = 0; i < headers.length; i += 2) res.removeHeader(headers[i]!);
      for (let i = 0; i < headers.length; i += 2) res.appendHeader(headers[i]!, headers[i + 1]!);
      if (statusText) res.writeHead(statusCode, statusText);
      else res.writeHead(statusCode);
    } else if (statusText) {
      res.writeHead(statusCode, statusText, withAddedHeaders(res, headers));
    } else {
      res.writeHead(statusCode, withAddedHeaders(res, headers));
    }
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.onDrain);
    return false;
  }

  onComplete(): void {
    // Trailers are hop-by-hop here: the client's response is framed by Node, not by the upstream.
    this.settled = true;
    this.res.end();
  }

  onError(error: Error): void {
    this.settled = true;
    this.owner.failed(this, error, error === CLIENT_GONE || this.res.destroyed || this.req.socket.destroyed);
  }

  private readonly onDrain = (): void => this.resumeUpstream?.();

  private readonly onClientClose = (): void => {
    this.done();
    // The client left before the exchange ended: stop the upstream request (its connection is closed).
    if (!this.settled) this.abortUpstream?.(CLIENT_GONE);
  };
}
