import { MARIADB_NOTES_SCHEMA, mariadbNotes } from '../../examples/migration-demo/src/mariadb-notes';
import { type SqlGuestbook, startSqlGuestbook } from './sql-guestbook';

/** The table the guestbook writes (the demo's). */
export const MARIADB_GUESTBOOK_SCHEMA = MARIADB_NOTES_SCHEMA;

/** Starts the guestbook (`sql-guestbook.ts`) on a free loopback port, writing to MariaDB at `databaseUrl` (the demo's `mariadbNotes`). */
export function startMariaDbGuestbook(options: {
  name: string;
  databaseUrl: string;
  slowEvery?: number;
  slowMs?: number;
}): Promise<SqlGuestbook> {
  return startSqlGuestbook({ ...options, store: mariadbNotes(options.databaseUrl) });
}
