import { createPool, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { type SqlGuestbook, startSqlGuestbook } from './sql-guestbook';

/** The table the guestbook writes (in the `app` database). */
export const MARIADB_GUESTBOOK_SCHEMA =
  'CREATE TABLE app.notes (id VARCHAR(64) PRIMARY KEY, text TEXT NOT NULL, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))';

/** Starts the guestbook (`sql-guestbook.ts`) on a free loopback port, writing to MariaDB at `databaseUrl` (mysql://…/app). */
export async function startMariaDbGuestbook(options: {
  name: string;
  databaseUrl: string;
  slowEvery?: number;
  slowMs?: number;
}): Promise<SqlGuestbook> {
  const pool = createPool({ uri: options.databaseUrl, connectionLimit: 20, connectTimeout: 10_000 });
  pool.on('connection', (connection) => connection.on('error', () => undefined));
  const timeout = 20_000;
  return startSqlGuestbook({
    ...options,
    store: {
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
    },
  });
}
