import assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setRoute, silentLogger } from '@switchyard/core';
import { request, requestJson } from '../../../test/support/http-client';
import { type Echo, startEchoUpstream, startUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { FRONT_KINDS, type Front, startFront } from './helpers/front';

// Issue 8, point 2: headers about one connection stay on that connection, in both directions, and a
// client's `Connection` header cannot remove what the proxy itself sends.

/** Sends raw bytes on a fresh connection; resolves with what was received once the server closes it, or rejects after `deadlineMs`. */
function untilServerCloses(port: number, text: string, deadlineMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open ${deadlineMs} ms after answering: ${JSON.stringify(received)}`));
    }, deadlineMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(text);
  });
}

describe('hop-by-hop headers', () => {
  let frontEnd: FrontEnd;
  let echo: Upstream;
  let hops: Upstream;

  before(async () => {
    echo = await startEchoUpstream('A');
    // Answers with hop-by-hop headers of its own, one of them named by its Connection header.
    hops = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(200, [
        'Connection',
        'keep-alive, X-Upstream-Hop',
        'Keep-Alive',
        'timeout=777',
        'X-Upstream-Hop',
        'secret',
        'Proxy-Authenticate',
        'Basic realm="upstream"',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
        'X-End-To-End',
        'kept',
        'Content-Length',
        '2',
      ]);
      res.end('ok');
    });
    frontEnd = await createFrontEnd({ store: 'memory://proxy-hop-by-hop-test', logger: silentLogger });
    await setRoute(frontEnd.store, 'echo.test', echo.url);
    await setRoute(frontEnd.store, 'hops.test', hops.url);
    await waitFor(() => frontEnd.watcher.allSites().length === 2, { what: 'the watcher to see both sites' });
  });

  after(async () => {
    await Promise.all([echo.close(), hops.close()]);
    await frontEnd.close();
  });

  for (const kind of FRONT_KINDS) {
    describe(`${kind} front end`, () => {
      let front: Front;
      before(async () => {
        front = await startFront(kind, { frontEnd, sitesByHost: true });
      });
      after(async () => {
        assert.deepEqual(front.frameworkErrors, [], 'the framework saw no errors');
        await front.close();
      });

      test('Connection cannot remove Host or X-Forwarded-*: they are set after stripping', async () => {
        const { status, json } = await requestJson<Echo>(`${front.url}/x`, {
          headers: {
            host: 'echo.test',
            connection: 'close, Host, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Port, X-Listed',
            'x-listed': 'gone',
            'x-custom': 'kept',
          },
        });
        assert.equal(status, 200);
        assert.equal(json.headers.host, 'echo.test');
        assert.equal(json.headers['x-forwarded-for'], '127.0.0.1');
        assert.equal(json.headers['x-forwarded-host'], 'echo.test');
        assert.equal(json.headers['x-forwarded-proto'], 'http');
        assert.equal(json.headers['x-forwarded-port'], '80');
        assert.equal(json.headers['x-listed'], undefined, 'what Connection lists is removed');
        assert.equal(json.headers['x-custom'], 'kept');
      });

      test('the RFC 9110 hop-by-hop set never reaches the upstream', async () => {
        // Raw bytes: Node's own client refuses to send some of these (Trailer without chunked encoding).
        const head = [
          'GET /y HTTP/1.0',
          'Host: echo.test',
          'Connection: close',
          'Keep-Alive: timeout=99',
          'Proxy-Connection: keep-alive',
          'Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==',
          'TE: trailers',
          'Trailer: X-Checksum',
          'Upgrade: h2c',
          'X-End-To-End: kept',
        ];
        const received = await untilServerCloses(Number(new URL(front.url).port), `${head.join('\r\n')}\r\n\r\n`);
        const json = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as Echo;
        for (const name of ['keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade']) {
          assert.equal(json.headers[name], undefined, `${name} is not forwarded`);
        }
        assert.notEqual(json.headers.connection, 'close', "the client's Connection is not forwarded");
        assert.equal(json.headers['x-end-to-end'], 'kept');
      });

      test("the upstream's hop-by-hop headers and what its Connection lists stay between it and the proxy", async () => {
        const response = await request(`${front.url}/`, { headers: { host: 'hops.test' } });
        assert.equal(response.status, 200);
        assert.equal(response.body, 'ok');
        assert.equal(response.headers['x-upstream-hop'], undefined);
        assert.equal(response.headers['proxy-authenticate'], undefined);
        assert.notEqual(response.headers['keep-alive'], 'timeout=777');
        assert.equal(response.headers['x-end-to-end'], 'kept');
        assert.deepEqual(response.headers['set-cookie'], ['a=1', 'b=2'], 'repeated headers all pass');
      });

      test("a client's Connection: close is honoured: the front end closes the connection after the response", async () => {
        const { port } = new URL(front.url);
        for (const site of ['echo.test', 'hops.test']) {
          const received = await untilServerCloses(Number(port), `GET / HTTP/1.1\r\nHost: ${site}\r\nConnection: close\r\n\r\n`);
          assert.match(received, /^HTTP\/1\.1 200 /);
          assert.match(received, /\r\nconnection: close\r\n/i, `${site}: the response says close`);
          assert.doesNotMatch(received, /\r\nconnection: keep-alive\r\n/i, site);
        }
      });
    });
  }
});
