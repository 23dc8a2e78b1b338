import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { canonicalizeRequest, canonicalizeTarget } from '../src/internal';

function request(url: string, headers: Record<string, string> = { host: 'shop.example' }): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  req.headers = { ...headers };
  return req;
}

describe('the path rule (canonicalizeTarget)', () => {
  // [sent, canonical target]: dot segments resolved, slashes merged, the query exactly as sent.
  const canonical: [string, string][] = [
    ['/', '/'],
    ['/healthz', '/healthz'],
    ['/admin/../healthz', '/healthz'],
    ['/admin/./x', '/admin/x'],
    ['/public//../admin', '/admin'],
    ['//', '/'],
    ['//admin//x//', '/admin/x/'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/a/.', '/a/'],
    ['/a/b/../../', '/'],
    ['/a/..', '/'],
    ['/ws/../healthz', '/healthz'],
    ['/..a/b..', '/..a/b..'],
    ['/.well-known/x', '/.well-known/x'],
    ['/a/../b?x=/../y&z=%2f%2e%5c', '/b?x=/../y&z=%2f%2e%5c'],
    ['/a?', '/a?'],
    ['/a/..?q', '/?q'],
    ['/%41dmin', '/%41dmin'],
    // Double encodings stay encoded: an upstream that decodes once sees "%2e%2e", not "..".
    ['/admin/%252e%252e/healthz', '/admin/%252e%252e/healthz'],
    ['/public/..%252fadmin', '/public/..%252fadmin'],
    ['/caf%C3%A9/', '/caf%C3%A9/'],
    ['/a;b/c', '/a;b/c'],
    ['http://shop.example/admin/../healthz?q=1', '/healthz?q=1'],
    ['HTTP://Shop.Example', '/'],
    ['http://shop.example?q', '/?q'],
    ['https://shop.example:8443/x', '/x'],
  ];
  for (const [sent, expected] of canonical) {
    test(`${sent} is ${expected}`, () => {
      const result = canonicalizeTarget(sent);
      assert.ok(result.ok, `refused: ${result.ok ? '' : result.reason}`);
      assert.equal(result.url, expected);
      assert.equal(result.path, expected.split('?', 1)[0]);
      // Idempotent: the canonical form is its own canonical form.
      const again = canonicalizeTarget(result.url);
      assert.ok(again.ok);
      assert.equal(again.url, result.url);
    });
  }

  const refused: string[] = [
    '/..',
    '/../',
    '/../healthz',
    '/a/../..',
    '/a/../../b',
    '//..',
    '/admin/%2e%2e/healthz',
    '/admin/%2E%2E/healthz',
    '/admin/.%2e/healthz',
    '/%2e/x',
    '/public/..%2fadmin',
    '/public/..%2Fadmin',
    '/a%2fb',
    '/a%5cb',
    '/a%5Cb',
    '/a%00b',
    '/admin/%c0%ae%c0%ae/healthz',
    '/a%C1%9Cb',
    '/admin\\..\\public\\x',
    '/public\\x',
    '/a%',
    '/a%2',
    '/a%zz',
    '/public/..;/admin',
    '/public/.;/admin',
    '/a#b',
    '/a?b#c',
    '*',
    'admin',
    '',
    'ftp://shop.example/x',
    'http:///x',
    'http://user@shop.example/x',
  ];
  for (const sent of refused) {
    test(`${JSON.stringify(sent)} is refused with 400`, () => {
      const result = canonicalizeTarget(sent);
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.status === 400 && result.reason.length > 0);
    });
  }

  test('an overlong path of dot segments resolves, and one climbing out on its last segment is refused', () => {
    const deep = '/a'.repeat(4000);
    assert.deepEqual(canonicalizeTarget(`${deep}${'/..'.repeat(4000)}/x`), { ok: true, path: '/x', url: '/x' });
    assert.equal(canonicalizeTarget(`${deep}${'/..'.repeat(4001)}`).ok, false);
    const long = `/${'x'.repeat(15_000)}?${'q'.repeat(1000)}`;
    const result = canonicalizeTarget(long);
    assert.ok(result.ok);
    assert.equal(result.url, long);
  });
});

describe('canonicalizeRequest', () => {
  test('rewrites req.url (and an Express originalUrl still holding the raw target) and returns the path', () => {
    const req = request('/admin/../healthz?x=1') as IncomingMessage & { originalUrl?: string };
    req.originalUrl = '/admin/../healthz?x=1';
    assert.deepEqual(canonicalizeRequest(req), { ok: true, path: '/healthz' });
    assert.equal(req.url, '/healthz?x=1');
    assert.equal(req.originalUrl, '/healthz?x=1');
  });

  test('is idempotent, and applies the rule again when something put another target in req.url', () => {
    const req = request('/api//../public/x');
    const first = canonicalizeRequest(req);
    assert.equal(canonicalizeRequest(req), first);
    assert.equal(req.url, '/public/x');
    // koa-mount, on its way out, restores the raw path it saw: the proxy must not forward it.
    req.url = '/api//../public/./y';
    assert.deepEqual(canonicalizeRequest(req), { ok: true, path: '/public/y' });
    assert.equal(req.url, '/public/y');
    req.url = '/api/%2e%2e/x';
    assert.equal(canonicalizeRequest(req).ok, false);
    const bad = request('/a/%2e%2e/b');
    const refused = canonicalizeRequest(bad);
    assert.equal(refused.ok, false);
    assert.equal(canonicalizeRequest(bad), refused);
    assert.equal(bad.url, '/a/%2e%2e/b', 'a refused request keeps its target');
  });

  test('an absolute-form target becomes origin form when its host is the Host header, and is refused otherwise', () => {
    const same = request('http://SHOP.example/a/../b?q', { host: 'shop.example' });
    assert.deepEqual(canonicalizeRequest(same), { ok: true, path: '/b' });
    assert.equal(same.url, '/b?q');
    const other = request('http://admin.internal/b', { host: 'shop.example' });
    assert.equal(canonicalizeRequest(other).ok, false);
    const noHost = request('http://shop.example/b', {});
    assert.deepEqual(canonicalizeRequest(noHost), { ok: true, path: '/b' });
    assert.equal(noHost.headers.host, 'shop.example');
  });

  test('a canonical target is left untouched', () => {
    const req = request('/a/b?c=%2e');
    assert.deepEqual(canonicalizeRequest(req), { ok: true, path: '/a/b' });
    assert.equal(req.url, '/a/b?c=%2e');
  });
});
