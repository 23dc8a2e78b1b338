import pg from 'pg';
import type { NotesStore } from './guestbook-db';

/** The guestbook's table on PostgreSQL. */
export const NOTES_SCHEMA = 'CREATE TABLE notes (id text PRIMARY KEY, text text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())';

/**
 * The guestbook on PostgreSQL: a pool to `databaseUrl`; a write is one transaction that stays open
 * during the application's work (`beforeCommit`), so a cutover that did not drain in-flight writes
 * before reading the catch-up position would lose it.
 */
export function postgresNotes(databaseUrl: string): NotesStore {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20, connectionTimeoutMillis: 10_000, query_timeout: 20_000 });
  // A connection the server ends (a promotion, a fence) is replaced on the next query.
  pool.on('error', () => undefined);
  return {
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
  };
}
