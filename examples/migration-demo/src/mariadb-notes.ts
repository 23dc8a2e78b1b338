import { createPool, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { NotesStore } from './guestbook-db';

/** The guestbook's table on MariaDB/MySQL, in the `app` database. */
export const MARIADB_NOTES_SCHEMA =
  'CREATE TABLE app.notes (id VARCHAR(64) PRIMARY KEY, text TEXT NOT NULL, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))';

/**
 * The guestbook on MariaDB/MySQL: a pool to `databaseUrl` (`mysql://user:password@host/app`); a write
 * is one transaction that stays open during the application's work (`beforeCommit`), so a cutover
 * that did not drain in-flight writes before reading the catch-up position would lose it.
 */
export function mariadbNotes(databaseUrl: string): NotesStore {
  const pool = createPool({ uri: databaseUrl, connectionLimit: 20, connectTimeout: 10_000 });
  // A connection the server ends is replaced on the next query.
  pool.on('connection', (connection) => connection.on('error', () => undefined));
  const timeout = 20_000;
  return {
    async count() {
      const [rows] = await pool.query<RowDataPacket[]>({ sql: 'SELECT COUNT(*) AS n FROM notes', timeout });
      return Number(rows[0]?.n);
    },
    async latest(limit) {
      const [rows] = await pool.query<RowDataPacket[]>({ sql: 'SELECT id, text FROM notes ORDER BY created_at DESC LIMIT ?', timeout }, [
        limit,
      ]);
      return rows;
    },
    async get(id) {
      const [rows] = await pool.query<RowDataPacket[]>({ sql: 'SELECT id, text FROM notes WHERE id = ?', timeout }, [id]);
      return rows[0];
    },
    async add(id, text, beforeCommit) {
      const connection = await pool.getConnection();
      try {
        await connection.query({ sql: 'BEGIN', timeout });
        const [inserted] = await connection.query<ResultSetHeader>(
          { sql: 'INSERT INTO notes (id, text) VALUES (?, ?) ON DUPLICATE KEY UPDATE id = id', timeout },
          [id, text],
        );
        await beforeCommit();
        await connection.query({ sql: 'COMMIT', timeout });
        return inserted.affectedRows === 1;
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}
