// The proxy's upstream client on its own, against real servers on loopback: reuse and its bounds,
// the keep-alive race, deadlines, aborts, bodies, TLS. The proxy's behaviour through it (502/504,
// streaming, hop-by-hop…) is pinned by the other files of this folder on every front.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { isSwitchyardError } from '@switchyard/core';
import { selfSignedCertificate } from '../../../test/support/certificate';
import { waitFor } from '../../../test/support/wait';
import { UpstreamPool, type UpstreamPoolOptions, type UpstreamRequest } from '../src/upstream-client';

const OPTIONS: UpstreamPoolOptions = { maxConnections: 8, maxIdle: 8, idleTimeoutMs: 10_000, timeoutMs: 5000, bodyTimeoutMs: 0 };

interface Answer {
  status: number;
  headers: string[];
  body: string;
}

/** Sends one request through `pool`; resolves with the whole answer, rejects with the pool's error. `started` receives the abort function. */
function send(pool: UpstreamPool, request: Partial<UpstreamRequest>, started?: (abort: (reason: Error) => void) => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answer: Answer | undefined;
    const chunks: Buffer[] = [];
    pool.dispatch(
      { method: 'GET', path: '/', headers: [], body: null, ...request },
      {
        onConnect: (abort) => started?.(abort),
        onHeaders: (status, headers) => {
          answer = { status, headers, body: '' };
        },
        onData: (chunk) => {
          chunks.push(Buffer.from(chunk));
          return true;
        },
        onComplete: () => resolve({ ...answer!, body: Buffer.concat(chunks).toString() }),
        onError: reject,
      },
    );
  });
}

/** A node:http upstream that counts its connections (open now, ever) and the paths in the order they arrived. */
async function countingUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createHttpServer(handler);
  const state = { open: 0, opened: 0, mostOpen: 0, paths: [] as string[] };
  server.on('connection', (socket: Socket) => {
    state.open += 1;
    state.opened += 1;
    state.mostOpen = Math.max(state.mostOpen, state.open);
    socket.on('close', () => {
      state.open -= 1;
    });
  });
  server.on('request', (req: IncomingMessage) => state.paths.push(req.url ?? ''));
  server.keepAliveTimeout = 60_000;
  await listen(server);
  return { server, state, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function listen(server: Server | ReturnType<typeof createNetServer>): Promise<void> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
}

function closeAll(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('upstream client', () => {
  const pools: UpstreamPool[] = [];
  const servers: Server[] = [];
  const pool = (origin: string, options: Partial<UpstreamPoolOptions> = {}) => {
    const created = new UpstreamPool(origin, { ...OPTIONS, ...options });
    pools.push(created);
    return created;
  };
  after(async () => {
    for (const created of pools) created.destroy();
    await Promise.all(servers.map(closeAll));
  });

  test('keeps connections alive and reuses them; beyond maxConnections requests wait, in order', async () => {
    const upstream = await countingUpstream((req, res) => setTimeout(() => res.end(req.url), 20));
    servers.push(upstream.server);
    const client = pool(upstream.origin, { maxConnections: 2 });
    const paths = Array.from({ length: 10 }, (_, i) => `/${i}`);
    const answers = await Promise.all(paths.map((path) => send(client, { path })));
    assert.deepEqual(
      answers.map((answer) => answer.body),
      paths,
    );
    assert.deepEqual(upstream.state.paths, paths, 'they reached the upstream in the order they were sent');
    assert.equal(upstream.state.mostOpen, 2);
    for (let i = 0; i < 5; i++) assert.equal((await send(client, { path: '/again' })).status, 200);
    assert.equal(upstream.state.opened, 2, 'later requests reuse the idle connections');
  });

  test('keeps at most maxIdle idle connections, and closes them after idleTimeoutMs', async () => {
    const upstream = await countingUpstream((_req, res) => setTimeout(() => res.end('ok'), 20));
    servers.push(upstream.server);
    const client = pool(upstream.origin, { maxIdle: 1, idleTimeoutMs: 300 });
    await Promise.all([send(client, {}), send(client, {}), send(client, {})]);
    assert.equal(upstream.state.opened, 3);
    await waitFor(() => upstream.state.open === 1, { what: 'the idle connections beyond maxIdle to close' });
    await waitFor(() => upstream.state.open === 0, { what: 'the last idle connection to close after idleTimeoutMs' });
  });

  test("an idle connection is closed before the upstream's Keep-Alive timeout", async () => {
    const upstream = await countingUpstream((_req, res) => {
      res.setHeader('Keep-Alive', 'timeout=1');
      res.end('ok');
    });
    servers.push(upstream.server);
    const client = pool(upstream.origin);
    await send(client, {});
    // The server keeps it for 60 s and the pool's idle timeout is 10 s: only the hint closes it now.
    await waitFor(() => upstream.state.open === 0, { timeoutMs: 3000, what: 'the client to close the connection' });
  });

  test('the keep-alive race: a GET on a connection the upstream just closed goes again on a new one; a POST does not', async () => {
    // Answers the first request of each connection, then closes the connection on the next one unanswered.
    let connections = 0;
    const server = createNetServer((socket) => {
      connections += 1;
      let requests = 0;
      socket.on('data', () => {
        requests += 1;
        if (requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst');
        else socket.destroy();
      });
    });
    await listen(server);
    after(() => server.close());
    const client = pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    assert.equal((await send(client, {})).body, 'first');
    assert.equal((await send(client, {})).body, 'first', 'answered on a second connection');
    assert.equal(connections, 2);
    await assert.rejects(send(client, { method: 'POST', body: Buffer.from('x'), headers: ['content-length', '1'] }), (error: Error) => {
      assert.ok(isSwitchyardError(error, 'SWITCHYARD_ERR_UPSTREAM_CLOSED') || (error as NodeJS.ErrnoException).code === 'ECONNRESET');
      return true;
    });
    assert.equal(connections, 2, 'the POST was not sent again');
  });

  test('deadlines: silence before the head and (with bodyTimeoutMs) in the body are timeouts; a refused connection is ECONNREFUSED', async () => {
    const held: ServerResponse[] = [];
    const upstream = await countingUpstream((req, res) => {
      if (req.url === '/silent') held.push(res);
      else if (req.url === '/stalls') {
        res.writeHead(200, { 'content-length': '10' });
        res.write('part');
        held.push(res);
      } else {
        res.writeHead(200, { 'content-length': '6' });
        res.write('pa');
        setTimeout(() => res.end('used'), 300);
      }
    });
    servers.push(upstream.server);
    const timedOut = (error: Error) => isSwitchyardError(error, 'SWITCHYARD_ERR_UPSTREAM_TIMEOUT');
    const started = Date.now();
    await assert.rejects(send(pool(upstream.origin, { timeoutMs: 200 }), { path: '/silent' }), timedOut);
    const waited = Date.now() - started;
    assert.ok(waited >= 190 && waited < 2000, `timed out after ${waited} ms`);
    await assert.rejects(send(pool(upstream.origin, { timeoutMs: 5000, bodyTimeoutMs: 200 }), { path: '/stalls' }), timedOut);
    assert.equal(
      (await send(pool(upstream.origin, { timeoutMs: 200 }), { path: '/pause' })).body,
      'paused',
      'without bodyTimeoutMs a pause mid-body is fine',
    );
    for (const res of held) res.destroy();
    const unused = createNetServer();
    await listen(unused);
    const { port } = unused.address() as AddressInfo;
    unused.close();
    await once(unused, 'close');
    await assert.rejects(
      send(pool(`http://127.0.0.1:${port}`), {}),
      (error: Error) => (error as NodeJS.ErrnoException).code === 'ECONNREFUSED',
    );
  });

  test('aborting: a waiting request never reaches the upstream; a running one closes its connection', async () => {
    const held: ServerResponse[] = [];
    const upstream = await countingUpstream((_req, res) => held.push(res));
    servers.push(upstream.server);
    const client = pool(upstream.origin, { maxConnections: 1 });
    const reason = new Error('client gone');
    let abortRunning: (reason: Error) => void = () => undefined;
    let abortWaiting: (reason: Error) => void = () => undefined;
    const running = send(client, { path: '/running' }, (abort) => {
      abortRunning = abort;
    });
    const waiting = send(client, { path: '/waiting' }, (abort) => {
      abortWaiting = abort;
    });
    await waitFor(() => held.length === 1, { what: 'the first request to arrive' });
    abortWaiting(reason);
    await assert.rejects(waiting, (error) => error === reason);
    abortRunning(reason);
    await assert.rejects(running, (error) => error === reason);
    await waitFor(() => upstream.state.open === 0, { what: 'the aborted connection to close' });
    assert.deepEqual(upstream.state.paths, ['/running']);
  });

  test('a streamed body without a length goes chunked; with one, as it is', async () => {
    const upstream = await countingUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () =>
        res.end(`${req.headers['transfer-encoding'] ?? '-'} ${req.headers['content-length'] ?? '-'} ${Buffer.concat(chunks)}`),
      );
    });
    servers.push(upstream.server);
    const client = pool(upstream.origin);
    const streamed = (text: string[]) => {
      const body = new PassThrough();
      (async () => {
        for (const piece of text) {
          body.write(piece);
          await new Promise((resolve) => setImmediate(resolve));
        }
        body.end();
      })();
      return body;
    };
    assert.equal((await send(client, { method: 'POST', body: streamed(['ab', 'cd', 'ef']) })).body, 'chunked - abcdef');
    assert.equal((await send(client, { method: 'PUT', body: streamed(['abc']), headers: ['Content-Length', '3'] })).body, '- 3 abc');
    assert.equal((await send(client, { method: 'POST' })).body, '- 0 ', 'a POST without a body says Content-Length: 0');
    assert.equal(upstream.state.opened, 1, 'each request left the connection reusable');
  });

  test('an answer that comes before the upload ended (a 413): passed on, and the connection not reused', async () => {
    const upstream = await countingUpstream((req, res) => {
      if (req.url === '/too-large') {
        res.writeHead(413, { connection: 'keep-alive', 'content-length': '9' });
        res.end('too large');
      } else {
        req.resume();
        req.on('end', () => res.end('ok'));
      }
    });
    servers.push(upstream.server);
    const client = pool(upstream.origin);
    const body = new PassThrough();
    body.write(Buffer.alloc(64 * 1024));
    // The rest of the body never comes: the answer must not wait for it.
    const answer = await send(client, { method: 'POST', path: '/too-large', body, headers: ['content-length', String(1024 * 1024)] });
    assert.deepEqual([answer.status, answer.body], [413, 'too large']);
    assert.equal((await send(client, { path: '/next' })).body, 'ok');
    assert.equal(upstream.state.opened, 2, 'the connection of the cut upload was not reused');
    body.destroy();
  });

  test('https targets are verified (the given CA trusted, an unknown certificate not), and new connections resume the session', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-upstream-tls-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const certificate = selfSignedCertificate(dir, 'upstream');
    const server = createHttpsServer({ cert: certificate.cert, key: certificate.key }, (req, res) => res.end(`tls ${req.url}`));
    const resumed: boolean[] = [];
    server.on('secureConnection', (socket: TLSSocket) => resumed.push(socket.isSessionReused()));
    await listen(server);
    servers.push(server);
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // No idle connection kept: every request opens one, and the later ones resume the first's session.
    const client = pool(origin, { tls: { ca: certificate.cert }, maxIdle: 0 });
    for (const path of ['/x', '/y', '/z']) assert.equal((await send(client, { path })).body, `tls ${path}`);
    assert.deepEqual(resumed, [false, true, true]);
    await assert.rejects(send(pool(origin), {}), (error: NodeJS.ErrnoException) =>
      /self.signed|certificate/i.test(`${error.code} ${error.message}`),
    );
  });
});
