import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '@switchyard/core';
import { type NotesStore, sqliteNotes } from './guestbook-db';

/** Options of startAppServer. */
export interface AppServerOptions {
  /** Shown in every response (`server`), so the load generator knows which server acknowledged a write. */
  name: string;
  /** The server's own SQLite database file (unless `notes` is given). */
  dbPath?: string;
  /** The server's database, when it is not a SQLite file (the PostgreSQL demo). */
  notes?: NotesStore;
  /**
   * Application work before a write commits, in ms. Default 0. The demo sets it so that writes are
   * still in flight when maintenance starts: exactly the writes the cutover must drain before copying.
   */
  writeDelayMs?: number;
  /**
   * More work before a write commits, given the write's number (1, 2, …): the database-cutover tests
   * keep every fifth transaction open for a second, so a cutover that did not drain would lose it.
   */
  beforeCommit?: (write: number) => Promise<void>;
  logger?: Logger;
}

/** A running guestbook app server. */
export interface AppServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Requests that failed inside the app (e.g. the database refused a write), as `METHOD url: message`. */
  readonly errors: string[];
  /** Stops the server and closes its database. */
  close(): Promise<void>;
}

/** Body of a write: the client picks the id, so a retry of the same write is answered 200, not stored twice. */
interface NewNote {
  id: string;
  text: string;
}

const MAX_BODY_BYTES = 16 * 1024;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Starts a small guestbook on 127.0.0.1 and a free port: `GET /notes` (latest), `GET /notes/:id`,
 * `POST /notes` with `{ id, text }` answering 201 only after the row is committed, and `GET /` (health).
 */
export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const { name, writeDelayMs = 0, beforeCommit } = options;
  const errors: string[] = [];
  let writes = 0;
  const logger = options.logger ?? createLogger();
  if (!options.notes && !options.dbPath) throw new Error('startAppServer needs dbPath or notes');
  const db = options.notes ?? sqliteNotes(options.dbPath as string);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    // A cutover health-checks the new server with `GET /` by default.
    if (req.method === 'GET' && path === '/') return send(res, 200, { server: name, notes: await db.count() });
    if (req.method === 'GET' && path === '/notes') return send(res, 200, { server: name, notes: await db.latest(10) });
    const match = /^\/notes\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && match) {
      const note = await db.get(decodeURIComponent(match[1]!));
      return note ? send(res, 200, { server: name, note }) : send(res, 404, { server: name, error: 'no such note' });
    }
    if (req.method === 'POST' && path === '/notes') {
      const note = parseNewNote(await readBody(req));
      if (!note) return send(res, 400, { server: name, error: 'expected {"id": "<1-64 of A-Za-z0-9_->", "text": "<string>"}' });
      const write = ++writes;
      const created = await db.add(note.id, note.text, async () => {
        if (writeDelayMs > 0) await sleep(writeDelayMs);
        await beforeCommit?.(write);
      });
      return send(res, created ? 201 : 200, { server: name, id: note.id, created });
    }
    send(res, 404, { server: name, error: 'not found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      errors.push(`${req.method} ${req.url}: ${error.message}`);
      logger.error({ server: name, err: error.message }, 'request failed');
      if (!res.headersSent) send(res, 500, { server: name, error: 'internal error' });
      else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    errors,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
      await db.close();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return '';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseNewNote(body: string): NewNote | undefined {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const { id, text } = data as Record<string, unknown>;
  if (typeof id !== 'string' || !ID_PATTERN.test(id) || typeof text !== 'string' || text.length > 1000) return undefined;
  return { id, text };
}
