import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertSiteName, keyLayout, parseMaintenance, parseRoute, redactUrl, SwitchyardError } from '../src/index';
import { ipMatcher } from '../src/internal';

describe('parseRoute', () => {
  test('accepts plain http and https URLs and normalises them', () => {
    assert.equal(parseRoute('http://10.0.0.2:3000').target, 'http://10.0.0.2:3000');
    assert.equal(parseRoute(' https://App.Internal:8443/ \n').target, 'https://app.internal:8443');
    assert.equal(parseRoute('http://10.0.0.2:3000/prefix/').target, 'http://10.0.0.2:3000/prefix');
    assert.equal(parseRoute('http://[::1]:3000').target, 'http://[::1]:3000');
  });

  for (const [raw, why] of [
    ['', 'empty'],
    ['10.0.0.2:3000', 'did you mean http://10.0.0.2:3000'],
    ['ftp://10.0.0.2', 'scheme must be http or https'],
    ['not a url', 'not a URL'],
    ['10.0.0.2', 'no scheme'],
    ['http://', 'not a URL'],
    ['http://user:pw@10.0.0.2', 'credentials'],
    ['http://10.0.0.2/?a=1', 'query'],
    ['{"targets":[]}', 'reserved'],
    [`http://x/${'a'.repeat(3000)}`, 'longer'],
    // WHATWG URL parsing would silently drop these and use another URL than the one stored.
    ['http://10.0.0.2:3000/a\r\nb', 'whitespace or a control character'],
    ['http://10.0.\t0.2:3000', 'whitespace or a control character'],
    ['http://10.0.0.2:3000/a b', 'whitespace or a control character'],
    ['http://10.0.0.2:3000/\u0000', 'whitespace or a control character'],
    ['http://10.0.0.2:3000/\u200b', 'whitespace or a control character'],
  ] as const) {
    test(`refuses ${JSON.stringify(raw.slice(0, 30))} with a reason`, () => {
      assert.throws(
        () => parseRoute(raw),
        (error: unknown) =>
          error instanceof SwitchyardError &&
          error.code === 'SWITCHYARD_ERR_INVALID_ROUTE' &&
          error.message.includes(why) &&
          error.message.includes('expected an absolute URL'),
      );
    });
  }
});

describe('redactUrl', () => {
  for (const [url, shown] of [
    ['redis://ops:secret@10.0.0.5:6379', 'redis://ops:***@10.0.0.5:6379'],
    ['redis://ops:p@ss@host:6379/0', 'redis://ops:***@host:6379/0'],
    ['rediss://:p@ss/w@rd@host', 'rediss://:***@host'],
    ['redis://host:6379', 'redis://host:6379'],
    ['redis://user@host', 'redis://user@host'],
  ] as const) {
    test(`${JSON.stringify(shown)} shows no part of the password`, () => {
      assert.equal(redactUrl(url), shown);
    });
  }
});

describe('parseMaintenance', () => {
  test('accepts a full state and normalises times', () => {
    const state = parseMaintenance(
      JSON.stringify({
        mode: 'read-only',
        message: 'Moving',
        until: '2030-01-01T10:00:00+01:00',
        hold: 5000,
        allowIps: ['10.0.0.0/8', '::1'],
        allowPaths: ['/health'],
        status: 503,
        future: 'ignored',
      }),
    );
    assert.equal(state.mode, 'read-only');
    assert.equal(state.until, '2030-01-01T09:00:00.000Z');
    assert.deepEqual(state.allowIps, ['10.0.0.0/8', '::1']);
    assert.equal('future' in state, false);
  });

  for (const [raw, field] of [
    ['nope', 'not JSON'],
    ['[]', 'not a JSON object'],
    ['{}', 'mode'],
    ['{"mode":"off"}', 'mode'],
    ['{"mode":"on","retryAfter":-1}', 'retryAfter'],
    ['{"mode":"on","retryAfter":10,"until":"2030-01-01T00:00:00Z"}', 'not both'],
    ['{"mode":"on","until":"tomorrow"}', 'until'],
    ['{"mode":"on","hold":1e9}', 'hold'],
    ['{"mode":"on","allowIps":["10.0.0.0/33"]}', 'CIDR'],
    ['{"mode":"on","allowPaths":["health"]}', 'must start with'],
    ['{"mode":"on","status":200}', 'status'],
    ['{"mode":"on","secretHash":"abc"}', 'secretHash'],
  ] as const) {
    test(`refuses ${raw}`, () => {
      assert.throws(
        () => parseMaintenance(raw),
        (error: unknown) =>
          error instanceof SwitchyardError && error.code === 'SWITCHYARD_ERR_INVALID_MAINTENANCE' && error.message.includes(field),
      );
    });
  }
});

describe('key layout and site names', () => {
  test('keys live under the prefix; heartbeats are not watched', () => {
    const keys = keyLayout('staging:sy:');
    assert.equal(keys.route('shop'), 'staging:sy:route:shop');
    assert.deepEqual(keys.parseState('staging:sy:maintenance:shop'), { kind: 'maintenance', site: 'shop' });
    assert.equal(keys.parseState('staging:sy:front:abc'), undefined);
    assert.ok(!keys.watchedPrefixes.some((prefix) => keys.front('x').startsWith(prefix)));
  });

  test('site names are host-like', () => {
    assert.equal(assertSiteName('shop.example.com'), 'shop.example.com');
    assert.equal(assertSiteName('*.example.com'), '*.example.com');
    assert.throws(() => assertSiteName('Shop'), { code: 'SWITCHYARD_ERR_INVALID_SITE' });
    assert.throws(() => assertSiteName('a b'), { code: 'SWITCHYARD_ERR_INVALID_SITE' });
  });

  test('IP matcher handles v4, v6, CIDR and v4-mapped v6 clients', () => {
    const allowed = ipMatcher(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    assert.equal(allowed('10.1.2.3'), true);
    assert.equal(allowed('::ffff:10.1.2.3'), true);
    assert.equal(allowed('2001:db8::1'), true);
    assert.equal(allowed('192.0.2.7'), true);
    assert.equal(allowed('192.0.2.8'), false);
    assert.equal(allowed('garbage'), false);
  });
});
