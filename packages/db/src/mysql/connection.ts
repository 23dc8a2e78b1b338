// One connection to one MySQL/MariaDB server, with a deadline (and an optional abort signal) on every
// statement. mysql2 is loaded only when the first MySQL URL is used. A statement that passes its
// deadline or is aborted has its connection destroyed (the only way to stop waiting on the wire); the
// next statement opens a fresh one. Errors name the server by its redacted URL, never the password.
import type * as Mysql from 'mysql2/promise';
import { dbError, isDatabaseError } from '../errors';
import { redactDatabaseUrl } from '../url';

/** The driver module, loaded once. */
let driver: Promise<typeof Mysql> | undefined;

function loadDriver(): Promise<typeof Mysql> {
  driver ??= import('mysql2/promise').then((module) => (module as { default?: typeof Mysql }).default ?? module);
  return driver;
}

/** A row as mysql2 returns it. */
export type Row = Mysql.RowDataPacket;

/** Which of the two servers, for messages. */
export type Role = 'source' | 'target';

/** Parses a `mysql://` / `mariadb://` URL into driver options; throws `SWITCHYARD_ERR_DB_URL`. */
export function connectionOptions(url: string, role: Role): Mysql.ConnectionOptions {
  const safe = redactDatabaseUrl(url);
  const bad = (why: string) => dbError('SWITCHYARD_ERR_DB_URL', `database ${role} ${JSON.stringify(safe)}: ${why}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad('not a URL: use e.g. mysql://user:password@host:3306/app');
  }
  const port = parsed.port ? Number(parsed.port) : 3306;
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database.includes('/')) throw bad('the path must be one database name (or nothing), e.g. /app');
  let ssl: Mysql.SslOptions | undefined;
  for (const [key, value] of parsed.searchParams) {
    if (key !== 'ssl') throw bad(`unknown parameter ${JSON.stringify(key)} (the only one is ssl=true|false)`);
    if (value !== 'true' && value !== 'false') throw bad('ssl must be true or false');
    // Verified TLS with the system's CAs; nothing weaker is offered.
    ssl = value === 'true' ? {} : undefined;
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    user: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    database: database || undefined,
    ssl,
    // One statement per query: nothing a value contains can start another.
    multipleStatements: false,
    supportBigNumbers: true,
    bigNumberStrings: true,
  };
}

/** Options of one statement. */
export interface StatementOptions {
  /** Deadline of this statement (default: the session's query timeout). */
  timeoutMs?: number;
  /** Aborts the statement (its connection is destroyed). */
  signal?: AbortSignal;
  /** What the statement does, for messages (e.g. "reading the replica status"). */
  what: string;
}

/** One lazily (re)connected connection to one server. */
export class MysqlSession {
  /** The server's URL without the password. */
  readonly url: string;
  readonly role: Role;
  /** Host and port as the URL names them. */
  readonly host: string;
  readonly port: number;
  /** Deadline of an ordinary statement. */
  readonly queryTimeoutMs: number;
  private readonly rawUrl: string;
  private readonly options: Mysql.ConnectionOptions;
  private readonly connectTimeoutMs: number;
  private connection: Promise<Mysql.Connection> | undefined;
  /** The connection `connection` resolved to, once it has. */
  private current: Mysql.Connection | undefined;
  /** True once a connection succeeded. */
  private connected = false;
  /** KILL statements under way; close() waits for them. */
  private readonly kills = new Set<Promise<void>>();
  /** Server threads of connections given up on, until settle() has seen them gone. */
  private readonly killed = new Set<number>();

  constructor(url: string, role: Role, timeouts: { connectTimeoutMs: number; queryTimeoutMs: number }) {
    this.options = connectionOptions(url, role);
    this.host = this.options.host ?? '';
    this.port = this.options.port ?? 3306;
    this.rawUrl = url;
    this.url = redactDatabaseUrl(url);
    this.role = role;
    this.connectTimeoutMs = timeouts.connectTimeoutMs;
    this.queryTimeoutMs = timeouts.queryTimeoutMs;
  }

  /** A second session to the same server, for a wait that may have to be cut off on its own. */
  fork(): MysqlSession {
    return new MysqlSession(this.rawUrl, this.role, { connectTimeoutMs: this.connectTimeoutMs, queryTimeoutMs: this.queryTimeoutMs });
  }

  private connect(): Promise<Mysql.Connection> {
    this.connection ??= (async () => {
      const mysql = await loadDriver();
      try {
        const connection = await mysql.createConnection({ ...this.options, connectTimeout: this.connectTimeoutMs });
        // A connection that dies while idle must not crash the process; the next statement reconnects.
        connection.on('error', () => this.forget(connection));
        this.connected = true;
        this.current = connection;
        return connection;
      } catch (error) {
        this.connection = undefined;
        // Unreachable at the start is a refusal before anything changed; later, a failed step.
        throw dbError(
          this.connected ? 'SWITCHYARD_ERR_DB_FAILED' : 'SWITCHYARD_ERR_DB_PREFLIGHT',
          `cannot connect to the ${this.role} database ${this.url}: ${describe(error)}`,
          { cause: error },
        );
      }
    })();
    return this.connection;
  }

  private forget(connection: Mysql.Connection): void {
    connection.destroy();
    // Synchronously, so the very next statement opens a fresh connection.
    if (this.current === connection) {
      this.current = undefined;
      this.connection = undefined;
    }
  }

  /** Runs one statement and returns its rows (empty for statements without a result set). */
  async query(sql: string, values: readonly unknown[], options: StatementOptions): Promise<Row[]> {
    const timeoutMs = options.timeoutMs ?? this.queryTimeoutMs;
    if (options.signal?.aborted) throw aborted(options.what, this, options.signal);
    const connection = await this.connect();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    // mysql2 does not fail a pending statement when its connection is destroyed: race it instead.
    const cutOff = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.cut(connection);
        reject(dbError('SWITCHYARD_ERR_DB_TIMEOUT', `${options.what} on ${this.url}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      onAbort = () => {
        this.cut(connection);
        reject(aborted(options.what, this, options.signal));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    const result = connection.query({ sql }, values as unknown[]);
    result.catch(() => undefined);
    try {
      const [rows] = await Promise.race([result, cutOff]);
      return Array.isArray(rows) ? (rows as Row[]) : [];
    } catch (error) {
      if (isDatabaseError(error)) throw error;
      if (isFatal(error)) this.forget(connection);
      throw dbError('SWITCHYARD_ERR_DB_FAILED', `${options.what} on ${this.url}: ${describe(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Gives up on a statement: drops the connection and, from a connection of its own, ends it on the
   * server (KILL CONNECTION: the client side is gone already), so a cut-off wait or a blocked fence
   * does not linger there and land later.
   */
  private cut(connection: Mysql.Connection): void {
    const id = connection.threadId;
    this.forget(connection);
    if (!id) return;
    this.killed.add(id);
    const killer = this.fork();
    const kill: Promise<void> = killer
      .query('KILL ?', [id], { what: 'ending a statement given up on' })
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => killer.close())
      .finally(() => this.kills.delete(kill));
    this.kills.add(kill);
  }

  /** The first column of the first row (or undefined). */
  async value(sql: string, values: readonly unknown[], options: StatementOptions): Promise<unknown> {
    const [row] = await this.query(sql, values, options);
    return row ? Object.values(row)[0] : undefined;
  }

  /**
   * Waits until the statements given up on have ended on the server: the KILLs answered, and their
   * threads gone from the process list (a KILL only marks a thread; one waiting for a lock ends when
   * it wakes). Bounded by the query timeout; a thread still there then is reported.
   */
  async settle(): Promise<void> {
    await Promise.all(this.kills);
    if (this.killed.size === 0) return;
    const ids = [...this.killed];
    const watcher = this.fork();
    const deadline = Date.now() + this.queryTimeoutMs;
    try {
      for (;;) {
        const rows = await watcher.query('SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN (?)', [ids], {
          what: 'waiting for a statement given up on to end',
        });
        if (rows.length === 0) break;
        if (Date.now() > deadline) {
          throw dbError(
            'SWITCHYARD_ERR_DB_FAILED',
            `a statement given up on is still running on ${this.url} (thread ${rows.map((row) => row.ID).join(', ')}); it may still change the server`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const id of ids) this.killed.delete(id);
    } finally {
      await watcher.close();
    }
  }

  /** Closes the connection (politely, within the query timeout; destroyed after that). */
  async close(): Promise<void> {
    await Promise.all(this.kills);
    const pending = this.connection;
    this.connection = undefined;
    this.current = undefined;
    const connection = await pending?.catch(() => undefined);
    if (!connection) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      connection.end().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.queryTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    connection.destroy();
  }
}

function aborted(what: string, session: MysqlSession, signal: AbortSignal | undefined) {
  return dbError('SWITCHYARD_ERR_DB_FAILED', `${what} on ${session.url}: aborted`, { cause: signal?.reason });
}

function isFatal(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { fatal?: boolean }).fatal === true;
}

/** The server's or the driver's message, without anything from the URL. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** The MySQL error number of a failed statement (its cause), e.g. 1227 for "access denied; you need PROCESS". */
export function errno(error: unknown): number | undefined {
  const cause = error instanceof Error ? (error.cause as { errno?: unknown } | undefined) : undefined;
  return typeof cause?.errno === 'number' ? cause.errno : undefined;
}
