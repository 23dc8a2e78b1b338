import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FrontEnd, MaintenanceState, Store } from '@switchyard/core';
import { type ClientResponse, request } from '../../../test/support/http-client';
import { BROWSER_ACCEPT, FRAMEWORKS, startApp, startFrontInMaintenance, type TestApp } from './harness';

// One site per situation, picked by a request header, so every case runs against the same two apps.
const HOUR_MS = 3600_000;
const SITES: Record<string, MaintenanceState> = {
  full: { mode: 'on', message: 'Back soon: moving to a new server.' },
  retry: { mode: 'on', retryAfter: 120 },
  until: { mode: 'on', until: new Date(Date.now() + HOUR_MS).toISOString() },
  'until-past': { mode: 'on', until: new Date(Date.now() - HOUR_MS).toISOString() },
  status: { mode: 'on', status: 500 },
  'read-only': { mode: 'read-only', retryAfter: 60 },
  paths: { mode: 'on', allowPaths: ['/status', '/api/public/', '/assets*'] },
  escape: { mode: 'on', message: '<script>alert("x")</script> & <b>bold</b>' },
};

const JSON_ACCEPT = { accept: 'application/json' };

function get(app: TestApp, site: string, path = '/', headers: Record<string, string> = {}, method = 'GET'): Promise<ClientResponse> {
  return request(`${app.origin}${path}`, { method, headers: { 'x-site': site, accept: BROWSER_ACCEPT, ...headers } });
}

function assertRefusedHtml(reply: ClientResponse, status = 503): void {
  assert.equal(reply.status, status);
  assert.match(String(reply.headers['content-type']), /^text\/html; charset=utf-8/);
  assert.equal(reply.headers['cache-control'], 'no-store');
  assert.match(reply.body, /<meta name="viewport"/);
}

function parseJson(reply: ClientResponse): Record<string, unknown> {
  assert.match(String(reply.headers['content-type']), /^application\/json/);
  return JSON.parse(reply.body) as Record<string, unknown>;
}

const CASES: { name: string; run: (app: TestApp) => Promise<void> }[] = [
  {
    name: 'full mode: a browser gets the 503 page with the message, no-store, and the app is not reached',
    async run(app) {
      const before = app.hits();
      const reply = await get(app, 'full');
      assertRefusedHtml(reply);
      assert.match(reply.body, /Back soon: moving to a new server\./);
      assert.equal(reply.headers['retry-after'], undefined, 'no Retry-After without retryAfter or until');
      const post = await get(app, 'full', '/orders', {}, 'POST');
      assert.equal(post.status, 503);
      assert.equal(app.hits(), before);
    },
  },
  {
    name: 'a site without maintenance passes through to the app',
    async run(app) {
      const reply = await get(app, 'not-in-maintenance', '/hello?x=1', {}, 'POST');
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'app POST /hello?x=1');
    },
  },
  {
    name: 'JSON when Accept prefers it, with retryAfter in seconds and the same headers',
    async run(app) {
      const reply = await get(app, 'retry', '/api/orders', JSON_ACCEPT);
      assert.equal(reply.status, 503);
      assert.equal(reply.headers['retry-after'], '120');
      assert.equal(reply.headers['cache-control'], 'no-store');
      assert.deepEqual(parseJson(reply), {
        error: 'maintenance',
        message: 'We are doing some maintenance and will be back shortly.',
        retryAfter: 120,
      });
    },
  },
  {
    name: 'JSON for X-Requested-With: XMLHttpRequest and for axios-style Accept; HTML for a browser',
    async run(app) {
      const xhr = await get(app, 'retry', '/', { 'x-requested-with': 'XMLHttpRequest' });
      assert.equal(parseJson(xhr).error, 'maintenance');
      const axios = await get(app, 'retry', '/', { accept: 'application/json, text/plain, */*' });
      assert.equal(parseJson(axios).error, 'maintenance');
      const browser = await get(app, 'retry', '/');
      assertRefusedHtml(browser);
      assert.match(browser.body, /Please try again in about 2 minutes\./);
      const anything = await get(app, 'retry', '/', { accept: '*/*' });
      assertRefusedHtml(anything);
    },
  },
  {
    name: 'HEAD gets the status and headers without a body',
    async run(app) {
      const reply = await get(app, 'retry', '/', {}, 'HEAD');
      assert.equal(reply.status, 503);
      assert.equal(reply.headers['retry-after'], '120');
      assert.equal(reply.headers['cache-control'], 'no-store');
      assert.equal(reply.body, '');
    },
  },
  {
    name: 'Retry-After is an HTTP-date from `until`, and the page and JSON say when',
    async run(app) {
      const until = Date.parse(SITES.until!.until!);
      const reply = await get(app, 'until');
      assertRefusedHtml(reply);
      const header = String(reply.headers['retry-after']);
      assert.match(header, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
      assert.ok(Math.abs(Date.parse(header) - until) < 1000, `${header} is the until time`);
      assert.match(reply.body, /Expected back around .* UTC \(in about 1 hour\)\./);
      const json = parseJson(await get(app, 'until', '/', JSON_ACCEPT));
      assert.equal(json.until, new Date(until).toISOString());
      assert.ok(typeof json.retryAfter === 'number' && json.retryAfter > 3000 && json.retryAfter <= 3600, `retryAfter ${json.retryAfter}`);
    },
  },
  {
    name: 'an `until` in the past omits Retry-After rather than inviting a stampede',
    async run(app) {
      const reply = await get(app, 'until-past');
      assertRefusedHtml(reply);
      assert.equal(reply.headers['retry-after'], undefined);
      assert.equal(parseJson(await get(app, 'until-past', '/', JSON_ACCEPT)).retryAfter, null);
    },
  },
  {
    name: 'state.status replaces 503',
    async run(app) {
      assertRefusedHtml(await get(app, 'status'), 500);
    },
  },
  {
    name: 'read-only: safe methods reach the app, writes get the 503 (JSON for API clients)',
    async run(app) {
      const before = app.hits();
      for (const method of ['GET', 'HEAD', 'OPTIONS']) assert.equal((await get(app, 'read-only', '/page', {}, method)).status, 200, method);
      assert.equal(app.hits(), before + 3);
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const reply = await get(app, 'read-only', '/api/items', JSON_ACCEPT, method);
        assert.equal(reply.status, 503, method);
        assert.equal(reply.headers['retry-after'], '60');
        assert.match(String(parseJson(reply).message), /changes cannot be saved/);
      }
      const form = await get(app, 'read-only', '/comments', {}, 'POST');
      assertRefusedHtml(form);
      assert.match(form.body, /Read-only for maintenance/);
      assert.equal(app.hits(), before + 3);
    },
  },
  {
    name: 'allowed paths pass (exact, `/` prefix, `*` prefix); dot segments cannot escape a prefix',
    async run(app) {
      assert.equal((await get(app, 'paths', '/status', {}, 'POST')).status, 200);
      assert.equal((await get(app, 'paths', '/status/detail')).status, 503, 'exact entry is not a prefix');
      assert.equal((await get(app, 'paths', '/api/public/prices?x=1')).status, 200);
      assert.equal((await get(app, 'paths', '/api/publicity')).status, 503);
      assert.equal((await get(app, 'paths', '/assets/app.css')).status, 200);
      assert.equal((await get(app, 'paths', '/api/public/../admin')).status, 503);
      assert.equal((await get(app, 'paths', '/api/public/%2e%2e/admin')).status, 400, 'an encoded dot segment is refused by the path rule');
    },
  },
  {
    name: 'the health path always passes',
    async run(app) {
      const reply = await get(app, 'full', '/healthz');
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'app GET /healthz');
    },
  },
  {
    name: 'the message is escaped: <script> never appears raw in the page or the JSON',
    async run(app) {
      const page = await get(app, 'escape');
      assertRefusedHtml(page);
      assert.ok(!page.body.includes('<script>') && !page.body.includes('<b>'), page.body);
      assert.match(page.body, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &lt;b&gt;bold&lt;\/b&gt;/);
      const json = await get(app, 'escape', '/', JSON_ACCEPT);
      assert.ok(!json.body.includes('<script>'), json.body);
      assert.equal(parseJson(json).message, SITES.escape!.message);
    },
  },
];

describe('maintenance responses', () => {
  let front: FrontEnd;
  let writer: Store;

  before(async () => {
    ({ front, writer } = await startFrontInMaintenance('responses', SITES));
  });

  after(async () => {
    await front.close();
    await writer.close();
  });

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      let app: TestApp;
      before(async () => {
        app = await startApp(framework, { frontEnd: front, site: (req) => String(req.headers['x-site']) });
      });
      after(() => app.close());

      for (const { name, run } of CASES) test(name, () => run(app));
    });
  }

  test('refusals are counted in the front end stats (its heartbeat)', async () => {
    const app = await startApp('koa', { frontEnd: front, site: 'full' });
    try {
      const before = front.stats.refused;
      await request(`${app.origin}/`);
      await request(`${app.origin}/healthz`);
      assert.equal(front.stats.refused, before + 1);
    } finally {
      await app.close();
    }
  });
});
