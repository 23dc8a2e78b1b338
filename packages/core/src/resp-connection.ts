// The watch connection: one Redis connection per watching store that carries the watcher's reads
// and, in RESP3, the CLIENT TRACKING invalidations in-band. It replaces ioredis on the path a flip
// takes (push in, one MGET out, reply in), where ioredis's per-message machinery was half of what a
// flip cost a front end; bench/README.md ("Flips") has the measurements. Where to connect (Sentinel,
// TLS, a Unix socket) stays ioredis's decision: redis-store.ts opens this one beside it.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { encodeCommand, INCOMPLETE, RespDecoder, RespError, RespPush, type RespValue } from './resp';

/** How to reach and log in to Redis. */
export interface RespConnectionOptions {
  /** Opens the socket (TCP, TLS or a Unix socket); `ready` is the event that says it is connected. */
  connect: () => { socket: Socket; ready: 'connect' | 'secureConnect' };
  username?: string | undefined;
  password?: string | undefined;
  db?: number | undefined;
  /** Deadline for connecting and logging in. */
  connectTimeoutMs: number;
  /** Deadline for a reply while commands wait for one. */
  commandTimeoutMs: number;
}

/** Events of a RespConnection. */
export interface RespConnectionEventMap {
  /** An out-of-band push (RESP3), e.g. `['invalidate', [keys…] | null]`. */
  push: [items: RespValue[]];
  /** The connection ended (Redis gone, a deadline missed, or close()); every pending call was rejected. Once. */
  close: [error: Error];
}

/** How Redis before 6 (`unknown command`) and RESP2-only proxies (`unsupported`, `NOPROTO`) refuse `HELLO 3`. */
const HELLO_UNKNOWN = /unknown command|unsupported|NOPROTO/i;

interface Pending {
  resolve: (value: RespValue) => void;
  reject: (error: Error) => void;
}

/**
 * A minimal Redis connection: commands answered in order, pushes as events, a deadline on every
 * reply, no reconnection (the owner opens a new one). RESP3 where Redis speaks it, RESP2 otherwise.
 */
export class RespConnection extends EventEmitter<RespConnectionEventMap> {
  /** 3 when Redis accepted `HELLO 3` (pushes arrive in-band); 2 otherwise. */
  protocol: 2 | 3 = 2;
  private readonly socket: Socket;
  private readonly decoder = new RespDecoder();
  private readonly pending: Pending[] = [];
  private readonly commandTimeoutMs: number;
  /**
   * One deadline for the whole connection: Redis answers in order, so "no reply for
   * commandTimeoutMs while a command waits" is the oldest command's deadline. The timer is left to
   * run out rather than cleared on each reply (which would cost a new timer per command).
   */
  private timer: NodeJS.Timeout | undefined;
  /** When the oldest waiting command was sent or the last reply came. */
  private progressAt = 0;
  private ended: Error | undefined;

  private constructor(socket: Socket, commandTimeoutMs: number) {
    super();
    this.socket = socket;
    this.commandTimeoutMs = commandTimeoutMs;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error: Error) => this.end(error));
    socket.on('close', () => this.end(new Error('connection closed')));
  }

  /**
   * Connects and logs in: `HELLO 3` (with AUTH), or AUTH alone where Redis refuses HELLO 3, then
   * SELECT. Rejects (and closes) when Redis refuses, or nothing is done within connectTimeoutMs.
   */
  static open(options: RespConnectionOptions): Promise<RespConnection> {
    const { socket, ready } = options.connect();
    socket.setNoDelay(true);
    const connection = new RespConnection(socket, options.commandTimeoutMs);
    return new Promise<RespConnection>((resolve, reject) => {
      const deadline = setTimeout(
        () => connection.end(new Error(`connect timed out after ${options.connectTimeoutMs} ms`)),
        options.connectTimeoutMs,
      );
      const failed = (error: Error) => {
        clearTimeout(deadline);
        reject(error);
      };
      connection.once('close', failed);
      socket.once(ready, () => {
        void connection.logIn(options).then(
          () => {
            clearTimeout(deadline);
            connection.off('close', failed);
            resolve(connection);
          },
          // A refused log-in closes the socket too (its close rejects with this error).
          (error: Error) => connection.end(error),
        );
      });
    });
  }

  /** Sends a command; resolves with its reply, rejects with a RespError for an error reply or when the connection ends. */
  call(args: readonly string[]): Promise<RespValue> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<RespValue>((resolve, reject) => {
      if (this.pending.length === 0) {
        this.progressAt = performance.now();
        this.timer ??= setTimeout(this.checkDeadline, this.commandTimeoutMs).unref();
      }
      this.pending.push({ resolve, reject });
      this.socket.write(encodeCommand(args));
    });
  }

  /** True once the connection ended (a `close` event was emitted). */
  get closed(): boolean {
    return this.ended !== undefined;
  }

  /** Closes the connection; pending calls are rejected. */
  close(): void {
    this.end(new Error('connection closed by the client'));
  }

  private async logIn(options: RespConnectionOptions): Promise<void> {
    const auth = options.password === undefined ? [] : ['AUTH', options.username ?? 'default', options.password];
    try {
      await this.call(['HELLO', '3', ...auth, 'SETNAME', 'switchyard-watch']);
      this.protocol = 3;
    } catch (error) {
      // Redis before 6, or a proxy that speaks RESP2 only: no pushes here, but reads still work.
      // Any other refusal (a wrong password, max clients reached) fails the log-in.
      if (!(error instanceof RespError) || !HELLO_UNKNOWN.test(error.message)) throw error;
      if (options.password !== undefined)
        await this.call(options.username === undefined ? ['AUTH', options.password] : ['AUTH', options.username, options.password]);
    }
    if (options.db) await this.call(['SELECT', String(options.db)]);
  }

  private receive(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (;;) {
      let value: RespValue | RespPush | typeof INCOMPLETE;
      try {
        value = this.decoder.next();
      } catch (error) {
        this.end(error as Error);
        return;
      }
      if (value === INCOMPLETE) return;
      if (value instanceof RespPush) {
        this.emit('push', value.items);
        continue;
      }
      const waiting = this.pending.shift();
      if (!waiting) continue;
      this.progressAt = performance.now();
      if (value instanceof RespError) waiting.reject(value);
      else waiting.resolve(value);
    }
  }

  private readonly checkDeadline = (): void => {
    this.timer = undefined;
    if (this.pending.length === 0 || this.ended) return;
    const waited = performance.now() - this.progressAt;
    if (waited >= this.commandTimeoutMs) this.end(new Error('Command timed out'));
    else this.timer = setTimeout(this.checkDeadline, this.commandTimeoutMs - waited).unref();
  };

  private end(error: Error): void {
    if (this.ended) return;
    this.ended = error;
    if (this.timer) clearTimeout(this.timer);
    this.socket.destroy();
    for (const waiting of this.pending.splice(0)) waiting.reject(error);
    this.emit('close', error);
  }
}
