import Database from 'better-sqlite3';

/** One guestbook note; `id` is chosen by the client so a retried write is recognised. */
export interface Note {
  readonly id: string;
  readonly text: string;
  readonly createdAt: string;
}

/**
 * What an app server needs from its database, whatever the engine: SQLite here
 * (`sqliteNotes`), PostgreSQL in `postgres-notes.ts`.
 */
export interface NotesStore {
  count(): Promise<number>;
  /** The newest notes first. */
  latest(limit: number): Promise<unknown[]>;
  get(id: string): Promise<unknown | undefined>;
  /**
   * Adds a note and commits; false when the id existed (a retried write). `beforeCommit` is the
   * application's work on the write: inside the transaction where the engine allows several at once.
   */
  add(id: string, text: string, beforeCommit: () => Promise<void>): Promise<boolean>;
  close(): Promise<void>;
}

/** A SQLite guestbook file as a NotesStore (better-sqlite3 is synchronous: the work runs before the insert). */
export function sqliteNotes(path: string): NotesStore {
  const db = openGuestbookDb(path);
  return {
    count: async () => db.countNotes(),
    latest: async (limit) => db.latestNotes(limit),
    get: async (id) => db.getNote(id),
    async add(id, text, beforeCommit) {
      await beforeCommit();
      return db.addNote(id, text);
    },
    close: async () => db.close(),
  };
}

/** The guestbook's SQLite database, as one app server uses it. */
export interface GuestbookDb {
  /** Inserts a note and commits; false when a note with this id already exists (a retried write). */
  addNote(id: string, text: string): boolean;
  getNote(id: string): Note | undefined;
  /** The newest notes first. */
  latestNotes(limit: number): Note[];
  countNotes(): number;
  close(): void;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS notes (
  id TEXT PRIMARY KEY,
  text TEXT NOT NULL,
  created_at TEXT NOT NULL
)`;

/**
 * Opens (creating if needed) a guestbook database file. WAL mode lets the copy step read a
 * consistent snapshot from another process while the app server keeps serving reads.
 */
export function openGuestbookDb(path: string): GuestbookDb {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA);
  const insert = db.prepare<[string, string, string]>(
    'INSERT INTO notes (id, text, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
  );
  const byId = db.prepare<[string], { id: string; text: string; created_at: string }>(
    'SELECT id, text, created_at FROM notes WHERE id = ?',
  );
  const latest = db.prepare<[number], { id: string; text: string; created_at: string }>(
    'SELECT id, text, created_at FROM notes ORDER BY rowid DESC LIMIT ?',
  );
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM notes');
  const toNote = (row: { id: string; text: string; created_at: string }): Note => ({
    id: row.id,
    text: row.text,
    createdAt: row.created_at,
  });
  return {
    addNote: (id, text) => insert.run(id, text, new Date().toISOString()).changes === 1,
    getNote: (id) => {
      const row = byId.get(id);
      return row && toNote(row);
    },
    latestNotes: (limit) => latest.all(limit).map(toNote),
    countNotes: () => count.get()?.n ?? 0,
    close: () => db.close(),
  };
}

/** Every note id in a database file, read with a fresh read-only connection (what is on disk, not what a server caches). */
export function readNoteIds(path: string): Set<string> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return new Set(
      db
        .prepare<[], { id: string }>('SELECT id FROM notes')
        .all()
        .map((row) => row.id),
    );
  } finally {
    db.close();
  }
}

/**
 * Copies a whole database with SQLite's online backup API: a consistent snapshot of `from`, even
 * while its server has it open, written page by page into `to`, even while the new server has
 * `to` open (its connection sees the new content on its next statement).
 */
export async function copyDatabase(from: string, to: string): Promise<{ pages: number }> {
  const source = new Database(from, { readonly: true, fileMustExist: true });
  try {
    const { totalPages } = await source.backup(to);
    return { pages: totalPages };
  } finally {
    source.close();
  }
}
