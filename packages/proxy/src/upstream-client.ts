// Over 300 lines on purpose: the pool, its connections and one request's life on them share the
// timing rules (deadlines, retry, reuse) that would be hard to follow split apart; the response
// parser is beside it (response-parser.ts).
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import type { Readable } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { SwitchyardError } from '@switchyard/core';
import { HTTP_TOKEN, INVALID_FIELD_VALUE } from '@switchyard/core/internal';
import { ResponseParser, type ResponseSink } from './response-parser';

/** One request for the upstream, as the engine built it. */
export interface UpstreamRequest {
  readonly method: string;
  /** Origin-form target (`/path?query`). */
  readonly path: string;
  /** Flat `[name, value, …]`; Host is added from the target when absent. */
  readonly headers: readonly string[];
  /** Nothing, a body in memory (its Content-Length among the headers), or the client's request streamed through. */
  readonly body: null | Buffer | Readable;
}

/** How one exchange hears from the client (the proxy's `Exchange`). */
export interface UpstreamHandler {
  /** Called at once with the function that ends the exchange early (`onError` then gets `reason`). */
  onConnect(abort: (reason: Error) => void): void;
  /** The final response head; `resume` restarts reading after `onData` returned false. May throw: the exchange then fails. */
  onHeaders(status: number, headers: string[], resume: () => void, statusText: string): void;
  /** A body chunk (valid until the call returns, unless kept); false asks to stop reading until `resume`. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** The exchange failed (refused, reset, timed out, malformed response, aborted). Called at most once, and never after `onComplete`. */
  onError(error: Error): void;
}

/** Options of an UpstreamPool. */
export interface UpstreamPoolOptions {
  /** Connections open at once, busy or idle (Infinity: no bound); requests beyond wait in order. */
  readonly maxConnections: number;
  /** Idle connections kept for reuse; more are closed. */
  readonly maxIdle: number;
  /** An idle connection is closed after this long (sooner when the upstream's `Keep-Alive: timeout` says so). */
  readonly idleTimeoutMs: number;
  /** The upstream may stay silent this long while connecting, and between the request's last byte and the response head. */
  readonly timeoutMs: number;
  /** Once the response has started, silence longer than this fails it; 0: never (SSE, long polls). */
  readonly bodyTimeoutMs: number;
  /** TLS options for `https:` targets (e.g. `ca`); certificates are verified unless these say otherwise. */
  readonly tls?: ConnectionOptions;
}

/** An origin-form request target as it may go on the wire: no spaces, no control characters, one byte per character. */
const ORIGIN_FORM = /^\/[\x21-\x7e\x80-\xff]*$/;

/** Whether `path` may go on the wire as a request's target. */
export function isOriginForm(path: string): boolean {
  return ORIGIN_FORM.test(path);
}

/**
 * What makes a request head unsendable (a method that is not a token, a target that is not origin-form,
 * a header name or value that would break the head's framing), or undefined. The pool writes heads
 * as given: what Node's server parsed is valid already; what hooks produced must pass this first.
 */
export function requestHeadProblem(method: string, path: string, headers: readonly string[]): string | undefined {
  if (!HTTP_TOKEN.test(method)) return `the method ${JSON.stringify(method.slice(0, 40))} is not a token`;
  if (!isOriginForm(path)) return `the path ${JSON.stringify(path.slice(0, 80))} is not an origin-form target`;
  for (let i = 0; i < headers.length; i += 2) {
    const name = String(headers[i]);
    if (!HTTP_TOKEN.test(name)) return `the header name ${JSON.stringify(name.slice(0, 80))} is not a token`;
    if (INVALID_FIELD_VALUE.test(String(headers[i + 1]))) return `the value of header ${name} holds characters a header cannot`;
  }
  return undefined;
}

const IDEMPOTENT_WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);
const EXPECTS_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** One request's life in the pool: waiting, then on one connection (twice at most: see `retryable`). */
class Pending {
  connection: Connection | undefined;
  settled = false;
  retried = false;

  constructor(
    readonly pool: UpstreamPool,
    readonly request: UpstreamRequest,
    readonly handler: UpstreamHandler,
  ) {}

  readonly abort = (reason: Error): void => this.pool.abort(this, reason);

  /** Resumes the connection's reading, unless it has moved on to another request since. */
  readonly resume = (): void => {
    const connection = this.connection;
    if (connection && connection.current === this) connection.socket.resume();
  };
}

/**
 * Keep-alive HTTP/1.1 connections to one upstream origin, one request at a time on each (arbitrary
 * upstreams are not safe to pipeline to). The proxy's own client, written for what a reverse proxy
 * needs and nothing more: the request head goes out as one string, the response head is parsed in
 * one pass, body chunks are handed over as views of the socket's buffers with back-pressure, and
 * deadlines are checked by one timer per pool rather than one per request (bench/README.md, "The
 * engine's client", says what it replaced and why).
 */
export class UpstreamPool {
  private readonly connections = new Set<Connection>();
  /** Idle connections, the most recently used last (reused first: warm, and the others can time out). */
  private readonly idle: Connection[] = [];
  private readonly queue: Pending[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private destroyed = false;
  private readonly host: string;
  private readonly port: number;
  /** `host[:port]`, the Host header when the request has none. */
  readonly authority: string;
  private readonly secure: boolean;
  /** The last TLS session the upstream offered to resume. */
  private tlsSession: Buffer | undefined;

  constructor(
    origin: string,
    readonly options: UpstreamPoolOptions,
  ) {
    const url = new URL(origin);
    this.secure = url.protocol === 'https:';
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port ? Number(url.port) : this.secure ? 443 : 80;
    this.authority = url.host;
  }

  /** Sends `request` on an idle connection, a new one, or when one frees up; the outcome goes to `handler`. */
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    const pending = new Pending(this, request, handler);
    handler.onConnect(pending.abort);
    if (pending.settled) return;
    if (this.destroyed) {
      this.settle(pending, new SwitchyardError('SWITCHYARD_ERR_UPSTREAM_CLOSED', 'the proxy is closing'));
      return;
    }
    const connection = this.idle.pop();
    if (connection) connection.run(pending);
    else if (this.connections.size < this.options.maxConnections) this.open().run(pending);
    else this.queue.push(pending);
  }

  /** Ends a request early: taken off the queue, or its connection closed. */
  abort(pending: Pending, reason: Error): void {
    if (pending.settled) return;
    if (pending.connection) {
      pending.connection.fail(pending, reason);
      return;
    }
    const index = this.queue.indexOf(pending);
    if (index !== -1) this.queue.splice(index, 1);
    this.settle(pending, reason);
  }

  /** Closes every connection; requests running or waiting fail. */
  destroy(): void {
    this.destroyed = true;
    const error = new SwitchyardError('SWITCHYARD_ERR_UPSTREAM_CLOSED', 'the proxy closed its upstream connections');
    for (const pending of this.queue.splice(0)) this.settle(pending, error);
    for (const connection of [...this.connections]) {
      if (connection.current) connection.fail(connection.current, error);
      else connection.close();
    }
  }

  /** Whether destroy() was called. */
  isClosing(): boolean {
    return this.destroyed;
  }

  settle(pending: Pending, error: Error): void {
    pending.settled = true;
    pending.handler.onError(error);
  }

  /** A connection finished its request: reused for the next one waiting, kept idle, or closed. */
  release(connection: Connection, reusable: boolean): void {
    if (!reusable || this.destroyed) {
      connection.close(); // and the next request waiting goes on a new connection
      return;
    }
    const waiting = this.queue.shift();
    if (waiting) {
      connection.run(waiting);
      return;
    }
    if (this.idle.length >= this.options.maxIdle) {
      connection.close();
      return;
    }
    connection.idle();
    this.idle.push(connection);
  }

  /** A connection closed: forget it, and start the next waiting request on a new one. */
  forget(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const index = this.idle.lastIndexOf(connection);
    if (index !== -1) this.idle.splice(index, 1);
    if (this.connections.size === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
    this.next();
  }

  /**
   * A request that failed on a connection the upstream had closed while idle goes again, first in
   * line: the failed connection's close starts it on a new one.
   */
  requeue(pending: Pending): void {
    pending.retried = true;
    pending.connection = undefined;
    this.queue.unshift(pending);
  }

  private next(): void {
    if (this.queue.length > 0 && !this.destroyed && this.connections.size < this.options.maxConnections) {
      this.open().run(this.queue.shift()!);
    }
  }

  private open(): Connection {
    const socket = this.secure ? this.openTls() : tcpConnect({ host: this.host, port: this.port });
    const connection = new Connection(this, socket);
    this.connections.add(connection);
    this.ticker ??= setInterval(this.tick, tickPeriod(this.options)).unref();
    return connection;
  }

  /**
   * A TLS connection resuming the session of an earlier one when the upstream gave a ticket: a burst
   * of new connections then costs one full handshake, not one each.
   */
  private openTls(): Socket {
    const socket = tlsConnect({
      host: this.host,
      port: this.port,
      servername: isIP(this.host) === 0 ? this.host : undefined,
      ALPNProtocols: ['http/1.1'],
      session: this.tlsSession,
      ...this.options.tls,
    });
    socket.on('session', (session: Buffer) => {
      this.tlsSession = session;
    });
    return socket;
  }

  /** Deadlines of every connection, checked on one timer: silent upstreams fail, idle connections close. */
  private readonly tick = (): void => {
    const now = Date.now();
    for (const connection of this.connections) connection.check(now);
  };
}

/** How often deadlines are checked: a quarter of the shortest, between 10 ms and 1 s (a deadline is kept to within that). */
function tickPeriod(options: UpstreamPoolOptions): number {
  const shortest = Math.min(options.timeoutMs, options.idleTimeoutMs, options.bodyTimeoutMs || Number.POSITIVE_INFINITY);
  return Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
}

/** One connection to the upstream and the request it is carrying, if any. */
class Connection implements ResponseSink {
  current: Pending | undefined;
  private readonly parser = new ResponseParser(this);
  /** When the current request fails for silence (ms since the epoch); 0: no deadline. */
  private deadline = 0;
  private idleDeadline = 0;
  private served = 0;
  private requestSent = false;
  private headReceived = false;
  private body: Readable | undefined;
  private chunked = false;
  /** The upload is paused until the socket drains (one listener however many chunks were refused). */
  private awaitingDrain = false;

  constructor(
    private readonly pool: UpstreamPool,
    readonly socket: Socket,
  ) {
    socket.setNoDelay(true);
    socket.on('data', this.onSocketData);
    socket.on('error', this.onSocketError);
    socket.on('end', this.onSocketEnd);
    socket.on('close', this.onSocketClose);
  }

  /** Starts `pending` on this connection: writes its head (and body, or starts streaming it). */
  run(pending: Pending): void {
    const { request } = pending;
    this.current = pending;
    pending.connection = this;
    this.parser.reset(request.method === 'HEAD');
    this.headReceived = false;
    this.requestSent = false;
    this.deadline = Date.now() + this.pool.options.timeoutMs;
    const socket = this.socket;
    if (this.served > 0) {
      socket.ref();
      socket.resume();
    }
    this.served += 1;
    const body = request.body;
    let head = `${request.method} ${request.path} HTTP/1.1\r\n`;
    let host = false;
    let length = false;
    const headers = request.headers;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      // Only Host and Content-Length matter here, and only their lengths need comparing first.
      if (name.length === 4 && !host) host = name.toLowerCase() === 'host';
      else if (name.length === 14 && !length) length = name.toLowerCase() === 'content-length';
      head += `${name}: ${headers[i + 1]}\r\n`;
    }
    if (!host) head += `host: ${this.pool.authority}\r\n`;
    if (body === null) {
      // As Node's and undici's clients do: a POST without a body still says so, for servers that insist.
      if (!length && EXPECTS_BODY.has(request.method)) head += 'content-length: 0\r\n';
      socket.write(`${head}\r\n`, 'latin1');
      this.requestSent = true;
    } else if (Buffer.isBuffer(body)) {
      socket.cork();
      socket.write(`${head}\r\n`, 'latin1');
      socket.write(body);
      socket.uncork();
      this.requestSent = true;
    } else {
      // Node's server decoded a chunked body; without a length it goes upstream chunked again.
      this.chunked = !length;
      socket.write(`${head}${this.chunked ? 'transfer-encoding: chunked\r\n' : ''}\r\n`, 'latin1');
      this.body = body;
      body.on('data', this.onBodyData);
      body.on('end', this.onBodyEnd);
    }
  }

  /** Ends `pending` with `error` (it must be the current request): the connection is closed, never reused. */
  fail(pending: Pending, error: Error): void {
    if (this.current !== pending || pending.settled) return;
    this.current = undefined;
    this.parser.stop();
    this.detachBody();
    const retry = this.retryable(pending, error);
    if (retry) this.pool.requeue(pending);
    this.close();
    if (!retry) this.pool.settle(pending, error);
  }

  /** Deadline checks from the pool's timer. */
  check(now: number): void {
    const pending = this.current;
    if (pending) {
      if (this.deadline !== 0 && now >= this.deadline) {
        const { timeoutMs, bodyTimeoutMs } = this.pool.options;
        const message = this.headReceived
          ? `the upstream sent nothing for ${bodyTimeoutMs} ms in the middle of its response`
          : `the upstream sent nothing for ${timeoutMs} ms`;
        this.fail(pending, new SwitchyardError('SWITCHYARD_ERR_UPSTREAM_TIMEOUT', message));
      }
    } else if (now >= this.idleDeadline) {
      this.close();
    }
  }

  /** Becomes idle: closed after the idle timeout, or a second before the upstream said it would close it. */
  idle(): void {
    const { idleTimeoutMs } = this.pool.options;
    const hinted = this.parser.keepAliveMs;
    this.idleDeadline = Date.now() + (hinted === undefined ? idleTimeoutMs : Math.min(idleTimeoutMs, hinted - 1000));
    // An idle connection must not keep the process alive.
    this.socket.unref();
  }

  close(): void {
    this.socket.destroy();
    this.pool.forget(this);
  }

  onHead(status: number, statusText: string, headers: string[]): void {
    const pending = this.current!;
    this.headReceived = true;
    const { bodyTimeoutMs } = this.pool.options;
    this.deadline = bodyTimeoutMs > 0 ? Date.now() + bodyTimeoutMs : 0;
    try {
      pending.handler.onHeaders(status, headers, pending.resume, statusText);
    } catch (error) {
      this.fail(pending, error instanceof Error ? error : new Error(String(error)));
    }
  }

  onBody(chunk: Buffer): void {
    const pending = this.current!;
    const { bodyTimeoutMs } = this.pool.options;
    if (bodyTimeoutMs > 0) this.deadline = Date.now() + bodyTimeoutMs;
    if (!pending.handler.onData(chunk) && this.current === pending) this.socket.pause();
  }

  onEnd(): void {
    const pending = this.current!;
    this.current = undefined;
    this.deadline = 0;
    // A body still uploading when the answer came (a 413, say): the rest will not be read here.
    const reusable = this.parser.reusable && this.requestSent;
    this.detachBody();
    pending.settled = true;
    pending.handler.onComplete();
    this.pool.release(this, reusable && !this.socket.destroyed);
  }

  /**
   * A request may go again on a new connection when it failed on a reused one before any byte of an
   * answer arrived, for a reason other than silence, and repeating it is harmless: the upstream
   * closed an idle connection just as it was reused (the `Keep-Alive` race every pooled client meets).
   */
  private retryable(pending: Pending, error: Error): boolean {
    return (
      !pending.retried &&
      this.served > 1 &&
      !this.parser.started &&
      pending.request.body === null &&
      IDEMPOTENT_WITHOUT_BODY.has(pending.request.method) &&
      ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ||
        (error as NodeJS.ErrnoException).code === 'EPIPE' ||
        (error instanceof SwitchyardError && error.code === 'SWITCHYARD_ERR_UPSTREAM_CLOSED' && !this.pool.isClosing()))
    );
  }

  private readonly onSocketData = (data: Buffer): void => {
    const pending = this.current;
    if (!pending) {
      // Bytes nobody asked for on an idle connection: it cannot be trusted with another request.
      this.close();
      return;
    }
    if (!this.headReceived) this.deadline = Date.now() + this.pool.options.timeoutMs;
    const error = this.parser.execute(data);
    if (error) this.fail(pending, error);
  };

  private readonly onSocketError = (error: Error): void => {
    const pending = this.current;
    if (pending) this.fail(pending, error);
    else this.close();
  };

  /** The upstream closed its side: an idle connection goes at once, before anything can be sent on it. */
  private readonly onSocketEnd = (): void => {
    if (!this.current) this.close();
  };

  private readonly onSocketClose = (): void => {
    const pending = this.current;
    if (pending) {
      // A body delimited by the close ends here; anything else was cut short.
      const error = this.parser.finish();
      if (error) this.fail(pending, error);
    }
    this.pool.forget(this);
  };

  private readonly onBodyData = (chunk: Buffer): void => {
    const socket = this.socket;
    let flowing: boolean;
    if (this.chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      flowing = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      flowing = socket.write(chunk);
    }
    // An upload in progress is not silence.
    if (!this.headReceived) this.deadline = Date.now() + this.pool.options.timeoutMs;
    if (!flowing && !this.awaitingDrain) {
      this.awaitingDrain = true;
      this.body?.pause();
      socket.once('drain', this.onSocketDrain);
    }
  };

  private readonly onSocketDrain = (): void => {
    this.awaitingDrain = false;
    this.body?.resume();
  };

  private readonly onBodyEnd = (): void => {
    if (this.chunked) this.socket.write('0\r\n\r\n', 'latin1');
    this.requestSent = true;
    this.detachBody();
    if (!this.headReceived) this.deadline = Date.now() + this.pool.options.timeoutMs;
  };

  private detachBody(): void {
    const body = this.body;
    if (!body) return;
    this.body = undefined;
    body.off('data', this.onBodyData);
    body.off('end', this.onBodyEnd);
    this.socket.off('drain', this.onSocketDrain);
    this.awaitingDrain = false;
  }
}
