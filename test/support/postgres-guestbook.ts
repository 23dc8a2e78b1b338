import { NOTES_SCHEMA, postgresNotes } from '../../examples/migration-demo/src/postgres-notes';
import { type SqlGuestbook, startSqlGuestbook } from './sql-guestbook';

/** The guestbook (`sql-guestbook.ts`) on PostgreSQL. */
export type PostgresGuestbook = SqlGuestbook;

/** The table the guestbook writes (the demo's). */
export const GUESTBOOK_SCHEMA = NOTES_SCHEMA;

/** Starts the guestbook on a free loopback port, writing to `databaseUrl` (the demo's `postgresNotes`). */
export function startPostgresGuestbook(options: {
  name: string;
  databaseUrl: string;
  slowEvery?: number;
  slowMs?: number;
}): Promise<PostgresGuestbook> {
  return startSqlGuestbook({ ...options, store: postgresNotes(options.databaseUrl) });
}
