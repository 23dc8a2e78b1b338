import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setRoute, silentLogger } from '@switchyard/core';
import { freePort } from '../../../test/support/ports';
import { waitFor, waitForEvent } from '../../../test/support/wait';
import { FRONT_KINDS, type Front, startFront } from './helpers/front';
import { connect, type EchoSocketServer, exchange, rawExchange, refusal, startEchoSocketServer } from './helpers/websocket';

describe('WebSockets through the proxy', () => {
  let frontEnd: FrontEnd;
  let a: EchoSocketServer;
  let b: EchoSocketServer;

  before(async () => {
    [a, b] = await Promise.all([startEchoSocketServer('A'), startEchoSocketServer('B')]);
    frontEnd = await createFrontEnd({ store: 'memory://proxy-websocket-test', logger: silentLogger });
    await setRoute(frontEnd.store, 'dead', `http://127.0.0.1:${await freePort()}`);
  });

  after(async () => {
    await Promise.all([a.close(), b.close()]);
    await frontEnd.close();
  });

  async function flipTo(server: EchoSocketServer): Promise<void> {
    await setRoute(frontEnd.store, 'default', server.upstream.url);
    await waitFor(() => frontEnd.watcher.route('default')?.target === server.upstream.url, { what: 'the flip' });
  }

  for (const kind of FRONT_KINDS) {
    describe(`${kind} front end`, () => {
      let front: Front;

      before(async () => {
        // The site is a function of the request here: /dead/… goes to a dead upstream, /nowhere/… to no site at all.
        const site = (req: IncomingMessage) => {
          if (req.url?.startsWith('/nowhere/')) return undefined;
          return req.url?.startsWith('/dead/') ? 'dead' : 'default';
        };
        front = await startFront(kind, { frontEnd, site });
      });

      after(() => front.close());

      test('messages go both ways; the upstream sees the path and X-Forwarded-*', async () => {
        await flipTo(a);
        const socket = await connect(`${front.wsUrl}/chat?room=1`);
        assert.equal(await exchange(socket, 'hi'), 'A:hi');
        const seen = a.upgrades.at(-1)!;
        assert.equal(seen.url, '/chat?room=1');
        assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
        assert.equal(seen.headers['x-forwarded-host'], new URL(front.url).host);
        socket.close();
        await waitForEvent(socket, 'close');
      });

      test('after a flip a new socket goes to the new target; an open one stays where it is', async () => {
        await flipTo(a);
        const old = await connect(`${front.wsUrl}/chat`);
        await flipTo(b);
        const fresh = await connect(`${front.wsUrl}/chat`);
        assert.equal(await exchange(fresh, 'hello'), 'B:hello');
        assert.equal(await exchange(old, 'hello'), 'A:hello');
        old.close();
        fresh.close();
        await waitFor(() => a.open.size === 0 && b.open.size === 0, { what: 'upstream sockets closed after the clients left' });
      });

      test('when the client vanishes, the upstream socket is closed, and the other way round', async () => {
        await flipTo(a);
        const socket = await connect(`${front.wsUrl}/chat`);
        await exchange(socket, 'x');
        socket.terminate();
        await waitFor(() => a.open.size === 0, { what: 'the upstream socket to close' });
        const other = await connect(`${front.wsUrl}/chat`);
        await exchange(other, 'y');
        const closed = waitForEvent(other, 'close');
        for (const upstreamSocket of a.open) upstreamSocket.terminate();
        await closed;
      });

      test('close() ends open tunnels, so the server can stop', async () => {
        await flipTo(a);
        const own = await startFront(kind, { frontEnd });
        const socket = await connect(`${own.wsUrl}/chat`);
        assert.equal(await exchange(socket, 'bye'), 'A:bye');
        const closed = waitForEvent(socket, 'close');
        await own.close();
        await closed;
        await waitFor(() => a.open.size === 0, { what: 'the upstream socket to close' });
      });

      test('no site or a dead upstream: the handshake fails with a 502, the front end lives on', async () => {
        assert.match(await refusal(`${front.wsUrl}/nowhere/chat`), /Unexpected server response: 502/);
        assert.match(await refusal(`${front.wsUrl}/dead/chat`), /Unexpected server response: 502/);
        const h2c = await rawExchange(
          new URL(front.url),
          'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n',
        );
        assert.match(h2c, /^HTTP\/1.1 400 /, 'other upgrades get a plain answer, not a reset');
        await flipTo(a);
        const socket = await connect(`${front.wsUrl}/chat`);
        assert.equal(await exchange(socket, 'still here'), 'A:still here');
        socket.close();
        await waitForEvent(socket, 'close');
      });
    });
  }
});
