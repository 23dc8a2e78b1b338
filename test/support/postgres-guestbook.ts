import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/**
 * The migration demo's guestbook API (`GET /`, `GET /notes`, `GET /notes/:id`, `POST /notes` with
 * `{ id, text }`, answered 201 only after the commit) on PostgreSQL, for the database-cutover tests.
 * Every `slowEvery`-th write keeps its transaction open for `slowMs` before committing, so a
 * cutover that did not drain in-flight writes before reading the catch-up position would lose it.
 */
export interface PostgresGuestbook {
  readonly url: string;
  /** Writes that failed inside the app (e.g. the database refused them). */
  readonly errors: string[];
  close(): Promise<void>;
}

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
  const { name, slowEvery = 5, slowMs = 1000 } = options;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 20, connectionTimeoutMillis: 10_000, query_timeout: 20_000 });
  pool.on('error', () => undefined);
  const errors: string[] = [];
  let writes = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    if (req.method === 'GET' && path === '/') {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM notes');
      return send(res, 200, { server: name, notes: Number(rows[0]?.n) });
    }
    if (req.method === 'GET' && path === '/notes') {
      const { rows } = await pool.query('SELECT id, text FROM notes ORDER BY created_at DESC LIMIT 10');
      return send(res, 200, { server: name, notes: rows });
    }
    const match = /^\/notes\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && match) {
      const { rows } = await pool.query('SELECT id, text FROM notes WHERE id = $1', [decodeURIComponent(match[1] ?? '')]);
      return rows[0] ? send(res, 200, { server: name, note: rows[0] }) : send(res, 404, { server: name, error: 'no such note' });
    }
    if (req.method === 'POST' && path === '/notes') {
      const note = JSON.parse(await readBody(req)) as { id: string; text: string };
      const slow = ++writes % slowEvery === 0;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const inserted = await client.query('INSERT INTO notes (id, text) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
          note.id,
          note.text,
        ]);
        if (slow) await sleep(slowMs);
        await client.query('COMMIT');
        return send(res, inserted.rowCount === 1 ? 201 : 200, { server: name, id: note.id, created: inserted.rowCount === 1 });
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
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
      await pool.end();
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
