import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '@switchyard/core';
import { type AppServer, startAppServer } from '../../examples/migration-demo/src/app-server';
import type { NotesStore } from '../../examples/migration-demo/src/guestbook-db';

/** What the guestbook needs from its database: the demo's `NotesStore`. */
export type { NotesStore } from '../../examples/migration-demo/src/guestbook-db';

/** A running guestbook; `errors` lists the writes that failed inside the app (e.g. the database refused them). */
export type SqlGuestbook = AppServer;

/**
 * The migration demo's guestbook (`GET /`, `GET /notes`, `GET /notes/:id`, `POST /notes` with
 * `{ id, text }`, answered 201 only after the commit) on a real database, for the database-cutover
 * tests. Every `slowEvery`-th write keeps its transaction open for `slowMs` before committing, so a
 * cutover that did not drain in-flight writes before reading the catch-up position would lose it.
 */
export function startSqlGuestbook(options: {
  name: string;
  store: NotesStore;
  slowEvery?: number;
  slowMs?: number;
}): Promise<SqlGuestbook> {
  const { name, store, slowEvery = 5, slowMs = 1000 } = options;
  return startAppServer({
    name,
    notes: store,
    logger: silentLogger,
    beforeCommit: async (write) => {
      if (write % slowEvery === 0) await sleep(slowMs);
    },
  });
}
