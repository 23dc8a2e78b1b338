import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type FrontEnd, type MaintenanceState, type Store, setMaintenance } from '@switchyard/core';
import { type ClientResponse, request } from '../../../test/support/http-client';
import { waitFor } from '../../../test/support/wait';
import { hashSecret, type MaintenanceOptions } from '../src/index';
import { BROWSER_ACCEPT, FRAMEWORKS, type Framework, startApp, startFrontInMaintenance, type TestApp } from './harness';

const SECRET = 'let-me-in-7f3a';
const SITES: Record<string, MaintenanceState> = {
  'ip-exact': { mode: 'on', allowIps: ['127.0.0.2'] },
  'ip-cidr': { mode: 'on', allowIps: ['127.0.0.0/8'] },
  'ip-other': { mode: 'on', allowIps: ['10.0.0.0/8', '2001:db8::/32'] },
  'ip-doc': { mode: 'on', allowIps: ['203.0.113.0/24'] },
  'ip-v6': { mode: 'on', allowIps: ['::1'] },
  'ip-v6-cidr': { mode: 'on', allowIps: ['2001:db8:1::/48'] },
  secret: { mode: 'on', secretHash: hashSecret(SECRET) },
  'secret-too': { mode: 'on', secretHash: hashSecret(SECRET) },
  rotating: { mode: 'on', secretHash: hashSecret(SECRET) },
};

function bySiteHeader(options: Omit<MaintenanceOptions, 'site'> = {}): MaintenanceOptions {
  return { ...options, site: (req) => String(req.headers['x-site']) };
}

function get(
  app: TestApp,
  site: string,
  path = '/',
  headers: Record<string, string> = {},
  extra: { method?: string; localAddress?: string } = {},
) {
  return request(`${app.origin}${path}`, { ...extra, headers: { 'x-site': site, accept: BROWSER_ACCEPT, ...headers } });
}

/** The `name=value` part of a Set-Cookie header, ready for a Cookie header. */
function cookieOf(reply: ClientResponse): string {
  const header = reply.headers['set-cookie']?.[0];
  assert.ok(header, 'a cookie was set');
  return header.split(';')[0]!;
}

describe('bypass', () => {
  let front: FrontEnd;
  let writer: Store;

  before(async () => {
    ({ front, writer } = await startFrontInMaintenance('bypass', SITES));
  });

  after(async () => {
    await front.close();
    await writer.close();
  });

  for (const framework of FRAMEWORKS) describe(framework, () => bypassCases(framework, () => front));

  test('hashSecret refuses a secret the secret URL would never accept', () => {
    assert.throws(() => hashSecret('short'), { code: 'SWITCHYARD_ERR_INVALID_OPTION' });
    assert.match(hashSecret('eight-ch'), /^[0-9a-f]{64}$/);
  });

  test('changing the secret invalidates issued cookies; the new secret works', async () => {
    const app = await startApp('express', { frontEnd: front, ...bySiteHeader() });
    try {
      const oldCookie = cookieOf(await get(app, 'rotating', `/${SECRET}`));
      assert.equal((await get(app, 'rotating', '/', { cookie: oldCookie })).status, 200);
      const rotated = hashSecret('a-new-secret');
      await setMaintenance(writer, 'rotating', { mode: 'on', secretHash: rotated }, { actor: 'test' });
      await waitFor(() => front.watcher.maintenance('rotating')?.secretHash === rotated, { what: 'rotation applied' });
      assert.equal((await get(app, 'rotating', '/', { cookie: oldCookie })).status, 503);
      assert.equal((await get(app, 'rotating', `/${SECRET}`)).status, 503, 'the old secret no longer grants');
      const newCookie = cookieOf(await get(app, 'rotating', '/a-new-secret'));
      assert.equal((await get(app, 'rotating', '/', { cookie: newCookie })).status, 200);
    } finally {
      await app.close();
    }
  });
});

function bypassCases(framework: Framework, frontEnd: () => FrontEnd): void {
  let apps: { direct: TestApp; oneProxy: TestApp; listedProxies: TestApp; shortCookies: TestApp };

  before(async () => {
    const front = frontEnd();
    apps = {
      direct: await startApp(framework, { frontEnd: front, ...bySiteHeader() }),
      oneProxy: await startApp(framework, {
        frontEnd: front,
        ...bySiteHeader({ trustProxy: 1, cookieDomain: 'example.test', bypassPath: '/__maintenance' }),
      }),
      listedProxies: await startApp(framework, { frontEnd: front, ...bySiteHeader({ trustProxy: ['127.0.0.1', '10.0.0.0/8'] }) }),
      shortCookies: await startApp(framework, { frontEnd: front, ...bySiteHeader({ bypassTtlMs: 1, bypassCookieName: 'sy' }) }),
    };
  });

  after(async () => {
    for (const app of Object.values(apps)) await app.close();
  });

  test('an allow-listed IPv4 address and CIDR pass; other clients are refused', async () => {
    const { direct } = apps;
    assert.equal((await get(direct, 'ip-exact', '/', {}, { localAddress: '127.0.0.2' })).status, 200);
    assert.equal((await get(direct, 'ip-exact', '/', {}, { localAddress: '127.0.0.1' })).status, 503);
    assert.equal((await get(direct, 'ip-cidr', '/', {}, { method: 'POST' })).status, 200);
    assert.equal((await get(direct, 'ip-other')).status, 503);
  });

  test('an allow-listed IPv6 address passes when the client connects over ::1', async () => {
    const v6 = await startApp(framework, { frontEnd: frontEnd(), ...bySiteHeader() }, { host: '::1' });
    try {
      assert.equal((await get(v6, 'ip-v6')).status, 200);
      assert.equal((await get(v6, 'ip-other')).status, 503);
      assert.equal((await get(v6, 'ip-exact')).status, 503);
    } finally {
      await v6.close();
    }
  });

  test('without trustProxy, X-Forwarded-For is ignored', async () => {
    const spoofed = await get(apps.direct, 'ip-doc', '/', { 'x-forwarded-for': '203.0.113.7' });
    assert.equal(spoofed.status, 503);
  });

  test('trustProxy: 1 believes the last X-Forwarded-For hop only', async () => {
    const { oneProxy } = apps;
    assert.equal((await get(oneProxy, 'ip-doc', '/', { 'x-forwarded-for': '203.0.113.7' })).status, 200);
    assert.equal((await get(oneProxy, 'ip-doc', '/', { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })).status, 200);
    assert.equal(
      (await get(oneProxy, 'ip-doc', '/', { 'x-forwarded-for': '203.0.113.7, 198.51.100.1' })).status,
      503,
      'a spoofed left entry',
    );
    assert.equal((await get(oneProxy, 'ip-v6-cidr', '/', { 'x-forwarded-for': '2001:db8:1::42' })).status, 200, 'IPv6 CIDR');
    assert.equal((await get(oneProxy, 'ip-v6-cidr', '/', { 'x-forwarded-for': '2001:db8:2::42' })).status, 503);
  });

  test('trustProxy as a list walks back through trusted proxies only', async () => {
    const { listedProxies } = apps;
    assert.equal((await get(listedProxies, 'ip-doc', '/', { 'x-forwarded-for': '203.0.113.7, 10.1.2.3' })).status, 200);
    assert.equal((await get(listedProxies, 'ip-doc', '/', { 'x-forwarded-for': '203.0.113.7, 198.51.100.1' })).status, 503);
  });

  test('visiting /<secret> sets a signed HttpOnly SameSite=Lax cookie and redirects a browser home', async () => {
    const { direct } = apps;
    const grant = await get(direct, 'secret', `/${SECRET}`);
    assert.equal(grant.status, 302);
    assert.equal(grant.headers.location, '/');
    assert.equal(grant.headers['cache-control'], 'no-store');
    const header = grant.headers['set-cookie']?.[0] ?? '';
    assert.match(header, /^switchyard_bypass=\d+\.[\w-]{86}; Path=\/; Max-Age=43200; Expires=[^;]+ GMT; HttpOnly; SameSite=Lax$/);
    assert.ok(!header.includes(SECRET) && !header.includes(hashSecret(SECRET)), 'neither the secret nor its hash is in the cookie');
    const cookie = cookieOf(grant);
    assert.equal((await get(direct, 'secret', '/account', { cookie })).status, 200);
    assert.equal((await get(direct, 'secret', '/orders', { cookie: `other=1; ${cookie}` }, { method: 'POST' })).status, 200);
    assert.equal((await get(direct, 'secret', '/account')).status, 503, 'no cookie, no bypass');
    assert.equal((await get(direct, 'secret-too', '/', { cookie })).status, 503, 'a cookie opens only the site it was issued for');
  });

  test('a wrong secret gets the 503, and an API client is granted without a redirect', async () => {
    const { direct } = apps;
    assert.equal((await get(direct, 'secret', '/not-the-secret')).status, 503);
    const grant = await get(direct, 'secret', `/${SECRET}`, { accept: 'application/json' });
    assert.equal(grant.status, 200);
    assert.equal(grant.headers.location, undefined);
    assert.equal((JSON.parse(grant.body) as { bypass: string }).bypass, 'granted');
    assert.equal((await get(direct, 'secret', '/', { cookie: cookieOf(grant) })).status, 200);
  });

  test('a tampered cookie is refused (signature or expiry changed)', async () => {
    const { direct } = apps;
    const cookie = cookieOf(await get(direct, 'secret', `/${SECRET}`));
    const [name, value] = cookie.split('=') as [string, string];
    const [expiresAt, signature] = value.split('.') as [string, string];
    // The first character carries six signature bits (the last one carries padding bits too).
    const flipped = (signature.startsWith('A') ? 'B' : 'A') + signature.slice(1);
    assert.equal((await get(direct, 'secret', '/', { cookie: `${name}=${expiresAt}.${flipped}` })).status, 503);
    assert.equal((await get(direct, 'secret', '/', { cookie: `${name}=${Number(expiresAt) + 86_400_000}.${signature}` })).status, 503);
    assert.equal((await get(direct, 'secret', '/', { cookie: `${name}=garbage` })).status, 503);
  });

  test('a cookie minted from what Redis holds (secretHash) is refused', async () => {
    const { direct } = apps;
    const stored = frontEnd().watcher.maintenance('secret')?.secretHash;
    assert.equal(stored, hashSecret(SECRET));
    const expiresAt = Date.now() + 3_600_000;
    // The scheme before the fix: an HMAC keyed by secretHash, which the front ends' read-only ACL can read.
    const key = createHmac('sha256', 'switchyard-bypass').update(stored!).digest();
    const oldScheme = createHmac('sha256', key).update(`secret\n${expiresAt}`).digest('base64url');
    assert.equal((await get(direct, 'secret', '/', { cookie: `switchyard_bypass=${expiresAt}.${oldScheme}` })).status, 503);
    // The stored value taken for the secret signs nothing that verifies either.
    const granted = await get(direct, 'secret', `/${stored}`);
    assert.equal(granted.status, 503, 'the stored value is not the secret');
    // And a holder of a valid cookie cannot stretch it.
    const [value] = cookieOf(await get(direct, 'secret', `/${SECRET}`))
      .split('=')
      .slice(1) as [string];
    const signature = value.split('.')[1]!;
    assert.equal((await get(direct, 'secret', '/', { cookie: `switchyard_bypass=${expiresAt + 1}.${signature}` })).status, 503);
  });

  test('an expired cookie is refused', async () => {
    const { shortCookies } = apps;
    const cookie = cookieOf(await get(shortCookies, 'secret', `/${SECRET}`));
    assert.match(cookie, /^sy=/);
    const expiresAt = Number(cookie.slice('sy='.length).split('.')[0]);
    await waitFor(() => Date.now() > expiresAt, { what: 'cookie expiry' });
    assert.equal((await get(shortCookies, 'secret', '/', { cookie })).status, 503);
  });

  test('behind a trusted proxy: bypass path prefix, Secure with X-Forwarded-Proto https, Domain', async () => {
    const { oneProxy, direct } = apps;
    assert.equal((await get(oneProxy, 'secret', `/${SECRET}`)).status, 503, 'the secret only works under the bypass path');
    const grant = await get(oneProxy, 'secret', `/__maintenance/${SECRET}`, {
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '198.51.100.1',
    });
    assert.equal(grant.status, 302);
    const header = grant.headers['set-cookie']?.[0] ?? '';
    assert.match(header, /; HttpOnly; SameSite=Lax; Secure; Domain=example\.test$/);
    const cookie = cookieOf(grant);
    assert.equal((await get(oneProxy, 'secret', '/', { cookie })).status, 200);
    assert.equal((await get(direct, 'secret', '/', { cookie })).status, 200, 'any middleware verifies it: no server-side key to share');
    const plain = await get(direct, 'secret', `/${SECRET}`, { 'x-forwarded-proto': 'https' });
    assert.doesNotMatch(plain.headers['set-cookie']?.[0] ?? '', /Secure/, 'X-Forwarded-Proto is not believed without trustProxy');
  });
}
