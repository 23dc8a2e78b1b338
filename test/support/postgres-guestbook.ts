import pg from 'pg';
import { type SqlGuestbook, startSqlGuestbook } from './sql-guestbook';

/** The guestbook (`sql-guestbook.ts`) on PostgreSQL. */
export type PostgresGuestbook = SqlGuestbook;

/** The table the guestbook writes. */
export const GUESTBOOK_SCHEMA =
  'CREATE TABLE notes (id text PRIMARY KEY, text text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())';

/** Starts the guestbook on a free loopback port, writing to `databaseUrl`. */
export async function startPostgresGuestbook(options: {
  name: string;
  databaseUrl: string;
  slowEvery?: number;
  slowMs?: number;
}): Promise<PostgresGuestbook> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 20, connectionTimeoutMillis: 10_000, query_timeout: 20_000 });
  pool.on('error', () => undefined);
  return startSqlGuestbook({
    ...options,
    store: {
      async count() {
        const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM notes');
        return Number(rows[0]?.n);
      },
      async latest(limit) {
        return (await pool.query('SELECT id, text FROM notes ORDER BY created_at DESC LIMIT $1', [limit])).rows;
      },
      async get(id) {
        return (await pool.query('SELECT id, text FROM notes WHERE id = $1', [id])).rows[0];
      },
      async add(id, text, beforeCommit) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const inserted = await client.query('INSERT INTO notes (id, text) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [id, text]);
          await beforeCommit();
          await client.query('COMMIT');
          return inserted.rowCount === 1;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      },
      close: () => pool.end(),
    },
  });
}
