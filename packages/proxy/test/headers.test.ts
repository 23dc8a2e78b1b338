import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { clientResponseHeaders, upstreamRequestHeaders } from '../src/headers';

/** Just what the header rules read from a request: raw headers, the parsed Connection/Host, the socket. */
function fakeRequest(raw: string[], encrypted = false): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    headers[name] = headers[name] === undefined ? raw[i + 1]! : `${headers[name]}, ${raw[i + 1]}`;
  }
  return { rawHeaders: raw, headers, socket: { remoteAddress: '10.0.0.9', encrypted } } as unknown as IncomingMessage;
}

/** A flat list as name → values (lower-case names), to compare regardless of order. */
function byName(flat: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    out[name] = [...(out[name] ?? []), flat[i + 1]!];
  }
  return out;
}

describe('upstream request headers', () => {
  const facts = { targetHost: '10.1.1.1:3000', changeOrigin: false };

  test("X-Forwarded-For/-Port/-Proto are appended to the client's; X-Forwarded-Host keeps the client's", () => {
    const headers = byName(
      upstreamRequestHeaders(
        fakeRequest([
          'Host',
          'shop.test:8080',
          'X-Forwarded-For',
          '1.2.3.4',
          'X-Forwarded-Proto',
          'https',
          'X-Forwarded-Port',
          '443',
          'X-Forwarded-Host',
          'public.test',
        ]),
        facts,
      ),
    );
    assert.deepEqual(headers['x-forwarded-for'], ['1.2.3.4,10.0.0.9']);
    assert.deepEqual(headers['x-forwarded-proto'], ['https,http']);
    assert.deepEqual(headers['x-forwarded-port'], ['443,8080']);
    assert.deepEqual(headers['x-forwarded-host'], ['public.test']);
    assert.deepEqual(headers.host, ['shop.test:8080']);
  });

  test('a TLS client connection is forwarded as https on 443 when Host names no port', () => {
    const headers = byName(upstreamRequestHeaders(fakeRequest(['Host', 'shop.test'], true), facts));
    assert.deepEqual(headers['x-forwarded-proto'], ['https']);
    assert.deepEqual(headers['x-forwarded-port'], ['443']);
  });

  test('Connection-listed headers go, but never Host or X-Forwarded-*; repeated headers stay as sent', () => {
    const flat = upstreamRequestHeaders(
      fakeRequest([
        'Host',
        'shop.test',
        'Connection',
        'keep-alive, X-Secret, host, X-Forwarded-For',
        'X-Secret',
        'hop',
        'X-Forwarded-For',
        '1.2.3.4',
        'X-Multi',
        'a',
        'X-Multi',
        'b',
        'Expect',
        '100-continue',
      ]),
      facts,
    );
    const headers = byName(flat);
    assert.equal(headers['x-secret'], undefined);
    assert.equal(headers.connection, undefined);
    assert.equal(headers.expect, undefined);
    assert.deepEqual(headers.host, ['shop.test']);
    assert.deepEqual(headers['x-forwarded-for'], ['1.2.3.4,10.0.0.9']);
    assert.deepEqual(headers['x-multi'], ['a', 'b']);
  });

  test('changeOrigin sends the target host; without a client Host none is invented', () => {
    assert.deepEqual(byName(upstreamRequestHeaders(fakeRequest(['Host', 'shop.test']), { ...facts, changeOrigin: true })).host, [
      '10.1.1.1:3000',
    ]);
    const http10 = byName(upstreamRequestHeaders(fakeRequest([]), facts));
    assert.equal(http10.host, undefined);
    assert.deepEqual(http10['x-forwarded-host'], ['']);
  });
});

describe('client response headers', () => {
  test('hop-by-hop and Connection-listed headers are dropped; repeated Set-Cookie kept', () => {
    const raw = [
      'Connection',
      'keep-alive, X-Internal',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'Trailer',
      'X-Sum',
      'Proxy-Authenticate',
      'Basic',
      'Upgrade',
      'h2c',
      'X-Internal',
      'secret',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Content-Type',
      'text/plain',
    ];
    assert.deepEqual(byName(clientResponseHeaders(raw)), { 'set-cookie': ['a=1', 'b=2'], 'content-type': ['text/plain'] });
  });
});
