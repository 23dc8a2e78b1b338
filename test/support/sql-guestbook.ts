import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NotesStore } from '../../examples/migration-demo/src/guestbook-db';

/** What the guestbook needs from its database: the demo's `NotesStore`. */
export type { NotesStore } from '../../examples/migration-demo/src/guestbook-db';

/** A running guestbook. */
export interface SqlGuestbook {
  readonly url: string;
  /** Writes that failed inside the app (e.g. the database refused them). */
  readonly errors: string[];
  close(): Promise<void>;
}

/**
 * The migration demo's guestbook API (`GET /`, `GET /notes`, `GET /notes/:id`, `POST /notes` with
 * `{ id, text }`, answered 201 only after the commit) on a real database, for the database-cutover
 * tests. Every `slowEvery`-th write keeps its transaction open for `slowMs` before committing, so a
 * cutover that did not drain in-flight writes before reading the catch-up position would lose it.
 */
export async function startSqlGuestbook(options: {
  name: string;
  store: NotesStore;
  slowEvery?: number;
  slowMs?: number;
}): Promise<SqlGuestbook> {
  const { name, store, slowEvery = 5, slowMs = 1000 } = options;
  const errors: string[] = [];
  let writes = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    if (req.method === 'GET' && path === '/') return send(res, 200, { server: name, notes: await store.count() });
    if (req.method === 'GET' && path === '/notes') return send(res, 200, { server: name, notes: await store.latest(10) });
    const match = /^\/notes\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && match) {
      const note = await store.get(decodeURIComponent(match[1] ?? ''));
      return note ? send(res, 200, { server: name, note }) : send(res, 404, { server: name, error: 'no such note' });
    }
    if (req.method === 'POST' && path === '/notes') {
      const note = JSON.parse(await readBody(req)) as { id: string; text: string };
      const slow = ++writes % slowEvery === 0;
      const created = await store.add(note.id, note.text, () => (slow ? sleep(slowMs) : Promise.resolve()));
      return send(res, created ? 201 : 200, { server: name, id: note.id, created });
    }
    send(res, 404, { server: name, error: 'not found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      errors.push(`${req.method} ${req.url}: ${error.message}`);
      if (!res.headersSent) send(res, 500, { server: name, error: error.message });
      else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    errors,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
      await store.close();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
