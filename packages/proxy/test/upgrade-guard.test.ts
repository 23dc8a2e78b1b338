import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, createLogger, type FrontEnd, setRoute } from '@switchyard/core';
import { refuseUpgrade } from '@switchyard/core/internal';
import { waitFor } from '../../../test/support/wait';
import type { UpgradeGuard } from '../src/index';
import { FRONT_KINDS, type Front, startFront } from './helpers/front';
import { connect, type EchoSocketServer, exchange, refusal, startEchoSocketServer } from './helpers/websocket';

describe('upgradeGuard', () => {
  const logged: string[] = [];
  const guarded: string[] = [];
  let frontEnd: FrontEnd;
  let upstream: EchoSocketServer;
  const fronts: Front[] = [];

  // Refuses /closed/…, throws on /broken/…, lets everything else through.
  const upgradeGuard: UpgradeGuard = (req, socket) => {
    guarded.push(req.url ?? '');
    if (req.url?.startsWith('/broken/')) throw new Error('guard bug');
    if (!req.url?.startsWith('/closed/')) return true;
    refuseUpgrade(socket, 503, { 'Retry-After': '5' });
    return false;
  };

  before(async () => {
    upstream = await startEchoSocketServer('A');
    frontEnd = await createFrontEnd({
      store: 'memory://proxy-upgrade-guard-test',
      logger: createLogger('warn', (line) => logged.push(line)),
    });
    await setRoute(frontEnd.store, 'default', upstream.upstream.url);
    await waitFor(() => frontEnd.watcher.route('default'), { what: 'the route' });
    // Koa and plain http attach the proxy, Express listens with `proxy.upgrade`: the guard must hold for both.
    for (const kind of FRONT_KINDS) fronts.push(await startFront(kind, { frontEnd, upgradeGuard }));
  });

  after(async () => {
    for (const front of fronts) await front.close();
    await upstream.close();
    await frontEnd.close();
  });

  test('a refused handshake gets the guard’s answer and never reaches the upstream', async () => {
    for (const front of fronts) {
      const upgradesBefore = upstream.upgrades.length;
      assert.match(await refusal(`${front.wsUrl}/closed/chat`), /Unexpected server response: 503/, front.kind);
      assert.equal(upstream.upgrades.length, upgradesBefore, front.kind);
      assert.equal(guarded.at(-1), '/closed/chat', front.kind);
    }
  });

  test('an admitted handshake is proxied as before', async () => {
    for (const front of fronts) {
      const socket = await connect(`${front.wsUrl}/open/chat`);
      assert.equal(await exchange(socket, 'hi'), 'A:hi', front.kind);
      assert.equal(upstream.upgrades.at(-1)?.url, '/open/chat', front.kind);
      assert.equal(guarded.at(-1), '/open/chat', front.kind);
      socket.close();
    }
  });

  test('a guard that throws costs the client a 500 and is logged; the front end serves on', async () => {
    for (const front of fronts) {
      const loggedBefore = logged.length;
      const upgradesBefore = upstream.upgrades.length;
      assert.match(await refusal(`${front.wsUrl}/broken/chat`), /Unexpected server response: 500/, front.kind);
      assert.equal(upstream.upgrades.length, upgradesBefore, front.kind);
      assert.equal(logged.length, loggedBefore + 1, front.kind);
      const entry = JSON.parse(logged.at(-1)!) as Record<string, unknown>;
      assert.deepEqual(
        [entry.level, entry.msg, entry.err, entry.path],
        ['error', 'WebSocket refused: the upgradeGuard threw', 'guard bug', '/broken/chat'],
      );
      const socket = await connect(`${front.wsUrl}/open/again`);
      assert.equal(await exchange(socket, 'still'), 'A:still', front.kind);
      socket.close();
    }
  });

  test('nothing but the guard failures was logged', () => {
    assert.equal(logged.length, fronts.length);
    assert.ok(logged.every((line) => line.includes('the upgradeGuard threw')));
  });
});
