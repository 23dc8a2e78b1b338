import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createLogger, type FrontEnd, type MaintenanceState, type Store, setMaintenance } from '@switchyard/core';
import { WebSocket, WebSocketServer } from 'ws';
import { request } from '../../../test/support/http-client';
import { waitFor, waitForEvent } from '../../../test/support/wait';
import { createMaintenanceHandler, hashSecret, type MaintenanceHandler } from '../src/index';
import { startFrontInMaintenance, startPlainApp, type TestApp } from './harness';

const SECRET = 'ws-secret-51c2';
const UNTIL = new Date(Date.now() + 3_600_000).toISOString();
const SITES: Record<string, MaintenanceState> = {
  on: { mode: 'on', retryAfter: 120 },
  'read-only': { mode: 'read-only' },
  until: { mode: 'on', until: UNTIL },
  status: { mode: 'on', status: 500 },
  held: { mode: 'read-only', hold: 60_000 },
  ip: { mode: 'on', allowIps: ['127.0.0.2'] },
  path: { mode: 'read-only', allowPaths: ['/live/'] },
  secret: { mode: 'on', secretHash: hashSecret(SECRET) },
};

/** How a handshake ended: 101 with an open socket, or the status and headers of the refusal. */
interface Handshake {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly socket?: WebSocket;
}

/** Opens a WebSocket; a refusal is read whole rather than turned into an error, so its headers can be checked. */
function handshake(url: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers, ...(localAddress ? { localAddress } : {}) });
    const timer = setTimeout(() => reject(new Error(`no answer to the handshake on ${url}`)), 10_000);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve({ status: 101, headers: {}, socket });
    });
    socket.once('unexpected-response', (_req, res) => {
      res.resume();
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The app's upgrade listener, as a front end wires it: the guard first, then whatever serves WebSockets. */
function serveWebSockets(app: TestApp, handler: MaintenanceHandler): { upgrades: () => number; close: () => void } {
  const wss = new WebSocketServer({ noServer: true });
  let upgrades = 0;
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo:${String(data)}`)));
  app.server.on('upgrade', (req, socket, head) => {
    if (!handler.guardUpgrade(req, socket)) return;
    upgrades += 1;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  return {
    upgrades: () => upgrades,
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

async function closeSocket(socket: WebSocket | undefined): Promise<void> {
  assert.ok(socket, 'the handshake succeeded');
  const closed = waitForEvent(socket, 'close');
  socket.close();
  await closed;
}

describe('WebSocket handshakes during maintenance', () => {
  const logged: string[] = [];
  let writer: Store;
  let front: FrontEnd;
  let app: TestApp;
  let sockets: ReturnType<typeof serveWebSockets>;
  let wsOrigin: string;

  before(async () => {
    const logger = createLogger('warn', (line) => logged.push(line));
    ({ front, writer } = await startFrontInMaintenance('maintenance-websocket-guard', SITES, logger));
    const handler = createMaintenanceHandler({ frontEnd: front, site: (req) => String(req.headers['x-site']) });
    app = await startPlainApp(handler);
    sockets = serveWebSockets(app, handler);
    wsOrigin = app.origin.replace('http:', 'ws:');
  });

  after(async () => {
    sockets.close();
    await app.close();
    await front.close();
    await writer.close();
    assert.deepEqual(logged, [], 'nothing logged at warn or above');
  });

  test('maintenance on and read-only refuse the handshake with a bodiless 503 that never reaches the app', async () => {
    const refusedBefore = front.stats.refused;
    const upgradesBefore = sockets.upgrades();
    for (const site of ['on', 'read-only']) {
      const reply = await handshake(`${wsOrigin}/chat`, { 'x-site': site });
      assert.equal(reply.status, 503, site);
      assert.equal(reply.headers['cache-control'], 'no-store', site);
      assert.equal(reply.headers['content-length'], '0', site);
      assert.equal(reply.headers.connection, 'close', site);
    }
    assert.equal((await handshake(`${wsOrigin}/chat`, { 'x-site': 'on' })).headers['retry-after'], '120');
    assert.equal(sockets.upgrades(), upgradesBefore);
    assert.equal(front.stats.refused, refusedBefore + 3, 'refusals are counted like refused requests');
  });

  test('the refusal carries the state: Retry-After from until, a custom status', async () => {
    const upgradesBefore = sockets.upgrades();
    const until = await handshake(`${wsOrigin}/chat`, { 'x-site': 'until' });
    assert.equal(until.headers['retry-after'], new Date(UNTIL).toUTCString());
    assert.equal((await handshake(`${wsOrigin}/chat`, { 'x-site': 'status' })).status, 500);
    assert.equal(sockets.upgrades(), upgradesBefore);
  });

  test('a handshake is never held, even when the state holds refused writes', async () => {
    const started = Date.now();
    assert.equal((await handshake(`${wsOrigin}/chat`, { 'x-site': 'held' })).status, 503);
    assert.ok(Date.now() - started < 10_000, 'answered without waiting for the hold');
    assert.equal(app.handler.held, 0);
  });

  test('an allow-listed IP or path pass; the health path does not (health checks are not WebSockets)', async () => {
    const upgradesBefore = sockets.upgrades();
    const byIp = await handshake(`${wsOrigin}/chat`, { 'x-site': 'ip' }, '127.0.0.2');
    assert.equal(byIp.status, 101);
    await closeSocket(byIp.socket);
    assert.equal((await handshake(`${wsOrigin}/chat`, { 'x-site': 'ip' }, '127.0.0.1')).status, 503, 'another client');
    const byPath = await handshake(`${wsOrigin}/live/feed`, { 'x-site': 'path' });
    assert.equal(byPath.status, 101);
    await closeSocket(byPath.socket);
    assert.equal((await handshake(`${wsOrigin}/chat`, { 'x-site': 'path' })).status, 503, 'another path');
    // Admitted, `/ws/../healthz` would open a socket on whatever the upstream serves there.
    assert.equal((await handshake(`${wsOrigin}/healthz`, { 'x-site': 'on' })).status, 503);
    assert.equal(sockets.upgrades(), upgradesBefore + 2);
  });

  test('the bypass cookie from the secret URL lets handshakes through; the secret URL itself does not', async () => {
    const granted = await request(`${app.origin}/${SECRET}`, { headers: { 'x-site': 'secret' } });
    assert.equal(granted.status, 302);
    const cookie = granted.headers['set-cookie']![0]!.split(';')[0]!;
    const upgradesBefore = sockets.upgrades();
    assert.equal((await handshake(`${wsOrigin}/${SECRET}`, { 'x-site': 'secret' })).status, 503);
    assert.equal((await handshake(`${wsOrigin}/chat`, { 'x-site': 'secret', cookie: 'switchyard_bypass=1.forged' })).status, 503);
    const withCookie = await handshake(`${wsOrigin}/chat`, { 'x-site': 'secret', cookie });
    assert.equal(withCookie.status, 101);
    assert.equal(sockets.upgrades(), upgradesBefore + 1);
    await closeSocket(withCookie.socket);
  });

  test('sockets open before maintenance stay open; new ones are refused until it ends', async () => {
    const opened = await handshake(`${wsOrigin}/chat`, { 'x-site': 'later' });
    assert.equal(opened.status, 101, 'no maintenance: the handshake passes');
    const socket = opened.socket!;
    await setMaintenance(writer, 'later', { mode: 'on' }, { actor: 'test' });
    await waitFor(() => front.watcher.maintenance('later'), { what: 'maintenance applied' });
    assert.equal((await handshake(`${wsOrigin}/chat`, { 'x-site': 'later' })).status, 503);
    const reply = once(socket, 'message', { signal: AbortSignal.timeout(5000) });
    socket.send('still here');
    assert.equal(String((await reply)[0]), 'echo:still here');
    await setMaintenance(writer, 'later', null, { actor: 'test' });
    await waitFor(() => !front.watcher.maintenance('later'), { what: 'maintenance lifted' });
    const again = await handshake(`${wsOrigin}/chat`, { 'x-site': 'later' });
    assert.equal(again.status, 101);
    await closeSocket(again.socket);
    await closeSocket(socket);
  });
});

describe('WebSocket handshakes in static mode', () => {
  test('a fixed read-only state refuses handshakes as writes; disabled lets them through', async () => {
    for (const [enabled, expected] of [
      [{ mode: 'read-only' }, 503],
      [false, 101],
    ] as const) {
      const handler = createMaintenanceHandler({ enabled });
      const app = await startPlainApp(handler);
      const sockets = serveWebSockets(app, handler);
      try {
        const reply = await handshake(`${app.origin.replace('http:', 'ws:')}/chat`);
        assert.equal(reply.status, expected, JSON.stringify(enabled));
        if (reply.socket) await closeSocket(reply.socket);
        assert.equal(sockets.upgrades(), expected === 101 ? 1 : 0);
      } finally {
        sockets.close();
        await app.close();
      }
    }
  });
});
