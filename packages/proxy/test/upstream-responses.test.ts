// What a broken or hostile upstream can make the proxy tell its client: a response framed two ways
// at once is a 502, never a second response smuggled into the client's connection; bytes beyond a
// response's end never answer the next request.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setRoute, silentLogger } from '@switchyard/core';
import { request } from '../../../test/support/http-client';
import { FRONT_KINDS, type Front, startFront } from './helpers/front';

/** Raw answers by request path; every other path gets `plain <path>`. */
const ANSWERS: Record<string, string> = {
  '/both-framings':
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled',
  '/folded': 'HTTP/1.1 200 OK\r\nX-A: one\r\n Set-Cookie: session=stolen\r\nContent-Length: 2\r\n\r\nok',
  '/extra': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled',
  '/bad-length': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 12\r\n\r\nok',
  '/early-hints': 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal',
  '/chunked': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n',
  // The answer to a HEAD: a length, and no body after it.
  '/head': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n',
  '/until-close': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it until the close',
};
/** Paths after whose answer the upstream closes the connection. */
const CLOSING = new Set(['/until-close']);

/** An upstream writing raw bytes, as no real HTTP server library would let it. */
async function rawUpstream(): Promise<{ server: Server; url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('data', (data: string) => {
      pending += data;
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const path = pending.slice(0, end).split(' ')[1] ?? '/';
        pending = pending.slice(end + 4);
        const body = `plain ${path}`;
        socket.write(ANSWERS[path] ?? `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        if (CLOSING.has(path)) socket.end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

describe('responses of a broken upstream', () => {
  let frontEnd: FrontEnd;
  let upstream: Awaited<ReturnType<typeof rawUpstream>>;

  before(async () => {
    upstream = await rawUpstream();
    frontEnd = await createFrontEnd({ store: 'memory://proxy-upstream-responses-test', logger: silentLogger });
    await setRoute(frontEnd.store, 'default', upstream.url);
  });

  after(async () => {
    upstream.server.close();
    await frontEnd.close();
  });

  for (const kind of FRONT_KINDS) {
    describe(`${kind} front end`, () => {
      let front: Front;
      before(async () => {
        // One upstream connection, so a poisoned one would answer the next request.
        front = await startFront(kind, { frontEnd, maxSockets: 1 });
      });
      after(async () => {
        assert.deepEqual(front.frameworkErrors, [], 'the framework saw no errors');
        await front.close();
      });

      const answer = async (path: string) => {
        const response = await request(`${front.url}${path}`);
        return [response.status, response.body];
      };

      for (const path of ['/both-framings', '/folded', '/bad-length']) {
        test(`${path}: 502, and the next request gets its own answer`, async () => {
          const response = await request(`${front.url}${path}`);
          assert.equal(response.status, 502);
          assert.doesNotMatch(response.body, /smuggled/);
          assert.equal(response.headers['set-cookie'], undefined);
          assert.equal((await request(`${front.url}/next`)).body, 'plain /next');
        });
      }

      test('framings: 1xx skipped, chunked decoded, HEAD without a body, a body until the close; the connection reused where it can be', async () => {
        await answer('/warm'); // the one upstream connection is open and idle
        const opened = upstream.connections();
        assert.deepEqual(await answer('/early-hints'), [200, 'final']);
        assert.deepEqual(await answer('/chunked'), [200, 'abcdefg']);
        const head = await request(`${front.url}/head`, { method: 'HEAD' });
        assert.deepEqual([head.status, head.headers['content-length'], head.body], [200, '1000', '']);
        assert.equal(upstream.connections(), opened, 'all three on the same connection');
        assert.deepEqual(await answer('/until-close'), [200, 'all of it until the close']);
        assert.deepEqual(await answer('/after'), [200, 'plain /after']);
        assert.equal(upstream.connections(), opened + 1, 'a new connection after the one the body ran to the end of');
      });

      test('bytes after the end of a response never answer the next request', async () => {
        await answer('/warm');
        const opened = upstream.connections();
        assert.deepEqual(await answer('/extra'), [200, 'ok']);
        for (const path of ['/a', '/b']) assert.deepEqual(await answer(path), [200, `plain ${path}`]);
        assert.equal(upstream.connections(), opened + 1, 'the connection that carried extra bytes was not used again');
      });
    });
  }
});
