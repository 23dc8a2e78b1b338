import type { Logger } from '@switchyard/core';
import pg from 'pg';
import { type DatabaseErrorCode, dbError } from '../errors';
import type { EngineContext } from '../types';
import { redactDatabaseUrl } from '../url';

/** Which end of the move a session talks to (named in every error). */
export type Side = 'source' | 'target';

/** How long past the server-side `statement_timeout` the client waits before giving up on a silent server. */
const NETWORK_GRACE_MS = 1000;

/**
 * One connection to one end of the move. Every query has a deadline twice over: the server cancels
 * it after `statement_timeout` (and gives up on locks after `lock_timeout`), and the client stops
 * waiting a moment later in case the server or the network went silent. A connection that failed
 * is dropped and the next query connects again. Errors name the side and the URL without password.
 */
export class PgSession {
  readonly side: Side;
  /** The URL without password, for messages. */
  readonly safeUrl: string;
  private readonly url: string;
  private readonly context: EngineContext;
  private client: pg.Client | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(side: Side, url: string, context: EngineContext) {
    this.side = side;
    this.url = url;
    this.safeUrl = redactDatabaseUrl(url);
    this.context = context;
  }

  get logger(): Logger {
    return this.context.logger;
  }

  /** Runs one statement and returns its rows. `timeoutMs` replaces the usual query deadline (for waits the server does itself). */
  query<Row extends Record<string, unknown>>(
    text: string,
    params: readonly unknown[] = [],
    options: { timeoutMs?: number; failCode?: DatabaseErrorCode } = {},
  ): Promise<Row[]> {
    // One statement at a time on the connection (callers may ask for several at once).
    const run = this.queue.then(() => this.run<Row>(text, params, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run<Row extends Record<string, unknown>>(
    text: string,
    params: readonly unknown[],
    options: { timeoutMs?: number; failCode?: DatabaseErrorCode },
  ): Promise<Row[]> {
    const client = await this.connect(options.failCode);
    const timeoutMs = options.timeoutMs ?? this.context.queryTimeoutMs;
    const override = options.timeoutMs !== undefined;
    try {
      if (override) await client.query(`SET statement_timeout = ${Math.ceil(timeoutMs)}`);
      // pg honours a per-query query_timeout; its typings do not list it.
      const config: pg.QueryConfig & { query_timeout: number } = { text, values: [...params], query_timeout: timeoutMs + NETWORK_GRACE_MS };
      return (await client.query<Row>(config)).rows;
    } catch (error) {
      throw this.failure(error, options.failCode ?? 'SWITCHYARD_ERR_DB_FAILED', timeoutMs);
    } finally {
      if (override && this.client === client) await client.query('RESET statement_timeout').catch(() => this.drop());
    }
  }

  /** The first row of a statement that always returns one. */
  async one<Row extends Record<string, unknown>>(
    text: string,
    params: readonly unknown[] = [],
    options: { timeoutMs?: number; failCode?: DatabaseErrorCode } = {},
  ): Promise<Row> {
    const rows = await this.query<Row>(text, params, options);
    if (!rows[0])
      throw dbError(options.failCode ?? 'SWITCHYARD_ERR_DB_FAILED', `${this.side} ${this.safeUrl}: no row from ${text.split('\n')[0]}`);
    return rows[0];
  }

  /** Closes the connection (waits at most the connect deadline). */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await Promise.race([
      client.end().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, this.context.connectTimeoutMs).unref()),
    ]);
  }

  private async connect(failCode: DatabaseErrorCode | undefined): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.context.connectTimeoutMs,
      statement_timeout: this.context.queryTimeoutMs,
      lock_timeout: this.context.queryTimeoutMs,
      query_timeout: this.context.queryTimeoutMs + NETWORK_GRACE_MS,
      application_name: 'switchyard',
      keepAlive: true,
    });
    // A connection that breaks between queries is dropped; the next query connects again.
    client.on('error', (error) => {
      this.logger.warn({ side: this.side, url: this.safeUrl, err: error.message }, 'database connection lost');
      if (this.client === client) this.client = undefined;
    });
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
    });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw dbError(failCode ?? 'SWITCHYARD_ERR_DB_FAILED', `cannot connect to the ${this.side} ${this.safeUrl}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    this.client = client;
    return client;
  }

  private failure(error: unknown, code: DatabaseErrorCode, timeoutMs: number) {
    const sqlState = (error as { code?: unknown }).code;
    if (sqlState === '57014' || messageOf(error) === 'Query read timeout') {
      // The client may still be waiting for the cancelled statement's answer: start afresh next time.
      this.drop();
      return dbError(
        code === 'SWITCHYARD_ERR_DB_PREFLIGHT' ? code : 'SWITCHYARD_ERR_DB_TIMEOUT',
        `${this.side} ${this.safeUrl}: a query did not finish within ${timeoutMs} ms`,
        {
          cause: error,
        },
      );
    }
    if (sqlState === undefined || String(sqlState).startsWith('08')) this.drop();
    return dbError(code, `${this.side} ${this.safeUrl}: ${messageOf(error)}`, { cause: error });
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => undefined);
  }
}

/** The message of an error (pg errors carry the server's own words). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
