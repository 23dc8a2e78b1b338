import { maxHeaderSize } from 'node:http';
import { SwitchyardError } from '@switchyard/core';
// Values Node's `writeHead` would throw on are refused here first, so a bad upstream gets a 502 rather than a throw.
import { HTTP_TOKEN, INVALID_FIELD_VALUE } from '@switchyard/core/internal';

/** What the parser reports while it reads one upstream response. */
export interface ResponseSink {
  /** The final (non-1xx) head: status, reason phrase ('' when absent or unusable) and headers as a flat `[name, value, …]` list. */
  onHead(status: number, statusText: string, headers: string[]): void;
  /** A piece of the body, framing removed (a view into the socket's buffer: use or copy it before returning). */
  onBody(chunk: Buffer): void;
  /** The response ended. */
  onEnd(): void;
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const HEX = /^[0-9a-fA-F]{1,12}$/;
/** A chunk-size line or a trailer line longer than this is not a response worth reading. */
const MAX_LINE = 8 * 1024;

enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  Done,
  Stopped,
}

function protocolError(message: string): SwitchyardError {
  return new SwitchyardError('SWITCHYARD_ERR_UPSTREAM_PROTOCOL', `the upstream's response is malformed: ${message}`);
}

/**
 * An HTTP/1.1 response parser for the proxy's upstream connections, strict where a lenient one would
 * let an upstream smuggle a second response or a header the client would read differently: no
 * obs-fold, no Content-Length beside Transfer-Encoding, no differing Content-Lengths, token header
 * names, values Node's server will write. 1xx heads are skipped (as Node's own client does); HEAD,
 * 204 and 304 have no body whatever they announce; without a length the body runs until the
 * connection closes. One parser per connection, reset per response.
 */
export class ResponseParser {
  private state = State.Done;
  /** Bytes of a head, chunk-size line or trailer not yet complete, kept from earlier reads. */
  private partial: Buffer | undefined;
  private remaining = 0;
  private noBody = false;
  /** After the end: whether the connection may carry another request. */
  reusable = false;
  /** The upstream's `Keep-Alive: timeout=N`, in ms; undefined when it sent none. */
  keepAliveMs: number | undefined;
  /** Whether any byte of the current response arrived (a request on a reused connection that got none may be retried). */
  started = false;

  constructor(private readonly sink: ResponseSink) {}

  /** Expects a new response; `noBody` for the answer to a HEAD request. */
  reset(noBody: boolean): void {
    this.state = State.Head;
    this.partial = undefined;
    this.noBody = noBody;
    this.reusable = false;
    this.keepAliveMs = undefined;
    this.started = false;
  }

  /**
   * Reads bytes from the connection. Returns an error when they are not a valid response (the
   * connection is then unusable). Returns at the end of the response: bytes beyond it make the
   * connection not reusable, never the start of another response. Stops when the sink called `stop()`.
   */
  execute(data: Buffer): SwitchyardError | undefined {
    if (this.state === State.Done || this.state === State.Stopped) {
      // More than the response announced, or bytes nobody asked for: this connection cannot be trusted again.
      if (data.length > 0) this.reusable = false;
      return undefined;
    }
    if (data.length > 0) this.started = true;
    let offset = 0;
    while (offset < data.length) {
      switch (this.state) {
        case State.Head: {
          const result = this.readHead(data, offset);
          if (typeof result !== 'number') return result;
          if (result === -1) return undefined;
          offset = result;
          if (this.at(State.Done)) return this.end(offset < data.length);
          break;
        }
        case State.Length: {
          const chunk = this.counted(data, offset);
          offset += chunk.length;
          this.sink.onBody(chunk);
          if (this.at(State.Stopped)) return undefined;
          if (this.remaining === 0) return this.end(offset < data.length);
          break;
        }
        case State.ChunkSize: {
          const line = this.readLine(data, offset);
          if (line === undefined) return undefined;
          if (line instanceof SwitchyardError) return line;
          offset = line.next;
          const semicolon = line.text.indexOf(';');
          const size = (semicolon === -1 ? line.text : line.text.slice(0, semicolon)).trimEnd();
          if (!HEX.test(size)) return protocolError(`bad chunk size ${JSON.stringify(line.text.slice(0, 40))}`);
          this.remaining = Number.parseInt(size, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const chunk = this.counted(data, offset);
          offset += chunk.length;
          if (this.remaining === 0) {
            this.state = State.ChunkEnd;
            this.remaining = 2;
          }
          this.sink.onBody(chunk);
          if (this.at(State.Stopped)) return undefined;
          break;
        }
        case State.ChunkEnd: {
          // The CRLF after a chunk's data, possibly split across reads.
          if (data[offset] !== (this.remaining === 2 ? 0x0d : 0x0a)) return protocolError('chunk data longer than its size');
          offset += 1;
          this.remaining -= 1;
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const line = this.readLine(data, offset);
          if (line === undefined) return undefined;
          if (line instanceof SwitchyardError) return line;
          offset = line.next;
          // Trailers are not passed on: the client's response is framed by Node, not by the upstream.
          if (line.text === '') return this.end(offset < data.length);
          break;
        }
        case State.UntilClose: {
          this.sink.onBody(offset === 0 ? data : data.subarray(offset));
          return undefined;
        }
        default:
          return undefined;
      }
    }
    return undefined;
  }

  /** As much of `data` from `offset` as the body (or chunk) still has coming, counted off `remaining`. */
  private counted(data: Buffer, offset: number): Buffer {
    const take = Math.min(this.remaining, data.length - offset);
    this.remaining -= take;
    return data.subarray(offset, offset + take);
  }

  /** The state, read past TypeScript's narrowing: a sink's callback can change it. */
  private at(state: State): boolean {
    return this.state === state;
  }

  private end(extraBytes: boolean): undefined {
    this.state = State.Done;
    if (extraBytes) this.reusable = false;
    this.sink.onEnd();
    return undefined;
  }

  /**
   * The connection closed. A body delimited by the close ends here (returns undefined after `onEnd`);
   * anything else cut short is an error.
   */
  finish(): SwitchyardError | undefined {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      this.sink.onEnd();
      return undefined;
    }
    if (this.state === State.Done || this.state === State.Stopped) return undefined;
    return new SwitchyardError(
      'SWITCHYARD_ERR_UPSTREAM_CLOSED',
      this.state === State.Head && !this.started
        ? 'the upstream closed the connection without answering'
        : 'the upstream closed the connection before the response ended',
    );
  }

  /** Abandons the current response (the exchange was aborted or failed): nothing more is reported. */
  stop(): void {
    this.state = State.Stopped;
    this.reusable = false;
    this.partial = undefined;
  }

  /** Reads a head from `data` at `offset`: the offset after it, -1 when more bytes are needed, or an error. */
  private readHead(data: Buffer, offset: number): number | SwitchyardError {
    let buffer = data;
    let start = offset;
    let searchFrom = offset;
    if (this.partial) {
      searchFrom = Math.max(0, this.partial.length - 3);
      buffer = Buffer.concat([this.partial, data.subarray(offset)]);
      start = 0;
    }
    const end = buffer.indexOf('\r\n\r\n', searchFrom, 'latin1');
    if (end === -1) {
      if (buffer.length - start > maxHeaderSize) return protocolError(`head larger than ${maxHeaderSize} bytes`);
      // A copy when it is a view of the socket's buffer, which is not ours to keep.
      this.partial = buffer === data ? Buffer.from(data.subarray(start)) : buffer;
      return -1;
    }
    if (end - start > maxHeaderSize) return protocolError(`head larger than ${maxHeaderSize} bytes`);
    // Where the body starts in `data` (the head may have begun in an earlier read).
    const next = this.partial ? offset + end + 4 - this.partial.length : end + 4;
    this.partial = undefined;
    const error = this.parseHead(buffer.toString('latin1', start, end));
    return error ?? next;
  }

  /** Parses one head's text (without the blank line); reports a final head to the sink. */
  private parseHead(text: string): SwitchyardError | undefined {
    let lineEnd = text.indexOf('\r\n');
    const statusLine = lineEnd === -1 ? text : text.slice(0, lineEnd);
    const match = STATUS_LINE.exec(statusLine);
    if (!match) return protocolError(`bad status line ${JSON.stringify(statusLine.slice(0, 80))}`);
    const http11 = match[1] === '1';
    const status = Number(match[2]);
    if (status < 100) return protocolError(`status ${status}`);
    let statusText = match[3] ?? '';
    if (INVALID_FIELD_VALUE.test(statusText)) statusText = '';
    const headers: string[] = [];
    let contentLength: number | undefined;
    let transferEncoding: string | undefined;
    let connectionClose = !http11;
    let keepAliveMs: number | undefined;
    while (lineEnd !== -1) {
      const start = lineEnd + 2;
      lineEnd = text.indexOf('\r\n', start);
      const line = lineEnd === -1 ? text.slice(start) : text.slice(start, lineEnd);
      const colon = line.indexOf(':');
      if (colon <= 0) return protocolError(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon);
      if (!HTTP_TOKEN.test(name)) return protocolError(`bad header name ${JSON.stringify(name.slice(0, 80))}`);
      const value = trimOws(line.slice(colon + 1));
      if (INVALID_FIELD_VALUE.test(value)) return protocolError(`bad value of header ${name}`);
      // Only the framing headers need their name compared; most responses have a handful.
      switch (name.length) {
        case 10:
          if (name.toLowerCase() === 'connection') {
            const tokens = value.toLowerCase();
            if (/(?:^|,)\s*close\s*(?:,|$)/.test(tokens)) connectionClose = true;
            else if (!http11 && /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(tokens)) connectionClose = false;
          } else if (name.toLowerCase() === 'keep-alive') {
            const timeout = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(value);
            if (timeout) keepAliveMs = Number(timeout[1]) * 1000;
          }
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') {
            if (!/^\d{1,15}$/.test(value)) return protocolError(`bad Content-Length ${JSON.stringify(value.slice(0, 40))}`);
            const length = Number(value);
            if (contentLength !== undefined && contentLength !== length) return protocolError('differing Content-Length headers');
            contentLength = length;
          }
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
          }
          break;
      }
      headers.push(name, value);
    }
    if (status < 200) {
      // 101 would switch protocols on a connection this parser owns: not something an HTTP request gets.
      if (status === 101) return protocolError('101 Switching Protocols to a plain request');
      return undefined; // informational: the final head follows
    }
    if (transferEncoding !== undefined && contentLength !== undefined) {
      return protocolError('both Transfer-Encoding and Content-Length');
    }
    this.keepAliveMs = keepAliveMs;
    if (this.noBody || status === 204 || status === 304) {
      this.state = State.Done;
      this.reusable = !connectionClose;
    } else if (transferEncoding !== undefined) {
      const codings = transferEncoding.toLowerCase().split(',');
      if (codings[codings.length - 1]!.trim() === 'chunked') {
        this.state = State.ChunkSize;
        this.reusable = !connectionClose;
      } else {
        this.state = State.UntilClose;
      }
    } else if (contentLength !== undefined) {
      this.state = contentLength === 0 ? State.Done : State.Length;
      this.remaining = contentLength;
      this.reusable = !connectionClose;
    } else {
      this.state = State.UntilClose;
    }
    this.sink.onHead(status, statusText, headers);
    return undefined;
  }

  /** One CRLF-terminated line from `data` at `offset` (joined with earlier bytes), or undefined when it is not complete yet. */
  private readLine(data: Buffer, offset: number): { text: string; next: number } | SwitchyardError | undefined {
    if (this.partial) {
      // A line split across reads, possibly between its CR and LF.
      const joined = Buffer.concat([this.partial, data.subarray(offset)]);
      const end = joined.indexOf('\r\n', 0, 'latin1');
      if (end === -1) return this.keepPartial(joined);
      const text = joined.toString('latin1', 0, end);
      const next = offset + (end + 2 - this.partial.length);
      this.partial = undefined;
      return { text, next };
    }
    const at = data.indexOf('\r\n', offset, 'latin1');
    if (at === -1) return this.keepPartial(Buffer.from(data.subarray(offset)));
    if (at - offset > MAX_LINE) return protocolError('a chunk-size or trailer line too long');
    return { text: data.toString('latin1', offset, at), next: at + 2 };
  }

  private keepPartial(bytes: Buffer): SwitchyardError | undefined {
    if (bytes.length > MAX_LINE) return protocolError('a chunk-size or trailer line too long');
    this.partial = bytes;
    return undefined;
  }
}

/** A value without the optional whitespace around it (RFC 9110 §5.5: spaces and tabs). */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 0x20 || value.charCodeAt(start) === 0x09)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}
