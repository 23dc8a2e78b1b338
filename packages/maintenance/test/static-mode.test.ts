import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FrontEnd, isSwitchyardError, silentLogger } from '@switchyard/core';
import { request } from '../../../test/support/http-client';
import { createMaintenanceHandler, type MaintenanceOptions, type MaintenancePageInfo } from '../src/index';
import { BROWSER_ACCEPT, FRAMEWORKS, startApp, startPlainApp, type TestApp } from './harness';

async function withPlainApp(options: MaintenanceOptions, run: (app: TestApp) => Promise<void>): Promise<void> {
  const app = await startPlainApp(createMaintenanceHandler({ logger: silentLogger, ...options }));
  try {
    await run(app);
  } finally {
    await app.close();
  }
}

describe('static mode, without any store', () => {
  for (const framework of FRAMEWORKS) {
    test(`${framework}: { enabled: true } serves the maintenance page, the health path still passes`, async () => {
      const app = await startApp(framework, { enabled: true });
      try {
        const reply = await request(`${app.origin}/`, { headers: { accept: BROWSER_ACCEPT } });
        assert.equal(reply.status, 503);
        assert.match(reply.body, /Down for maintenance/);
        assert.equal((await request(`${app.origin}/healthz`)).status, 200);
        assert.equal(app.handler.stats.refused, 1, 'counted in the handler’s own stats');
      } finally {
        await app.close();
      }
    });
  }

  test('plain http: a fixed read-only state, and enabled: false lets everything through', async () => {
    await withPlainApp({ enabled: { mode: 'read-only', message: 'Frozen for the move' }, healthPath: '/up' }, async (app) => {
      assert.equal((await request(`${app.origin}/page`)).status, 200);
      const write = await request(`${app.origin}/form`, { method: 'POST', headers: { accept: 'application/json' } });
      assert.equal(write.status, 503);
      assert.equal((JSON.parse(write.body) as { message: string }).message, 'Frozen for the move');
      assert.equal((await request(`${app.origin}/up`, { method: 'POST' })).status, 200);
      assert.equal(app.hits(), 2);
    });
    await withPlainApp({ enabled: false }, async (app) => {
      assert.equal((await request(`${app.origin}/x`, { method: 'DELETE' })).body, 'app DELETE /x');
    });
  });

  test('a fixed state with a hold answers at once: nothing could end it', async () => {
    await withPlainApp({ enabled: { mode: 'on', hold: 60_000 } }, async (app) => {
      const started = Date.now();
      assert.equal((await request(`${app.origin}/`)).status, 503);
      assert.ok(Date.now() - started < 5000);
      assert.equal(app.handler.held, 0);
    });
  });

  test('bad options fail fast with a SwitchyardError code', async () => {
    const front = new FrontEnd({ store: 'memory://static-options', logger: silentLogger });
    try {
      const rejects = (options: MaintenanceOptions, code: string) =>
        assert.throws(
          () => createMaintenanceHandler(options),
          (error) => isSwitchyardError(error) && error.code === code,
        );
      rejects({}, 'SWITCHYARD_ERR_INVALID_OPTION');
      rejects({ frontEnd: front, enabled: true }, 'SWITCHYARD_ERR_INVALID_OPTION');
      rejects({ enabled: { mode: 'sideways' } as never }, 'SWITCHYARD_ERR_INVALID_MAINTENANCE');
      rejects({ enabled: true, page: '/nonexistent/maintenance.html' }, 'SWITCHYARD_ERR_INVALID_OPTION');
      rejects({ enabled: true, maxHeld: -1 }, 'SWITCHYARD_ERR_INVALID_OPTION');
      rejects({ enabled: true, trustProxy: ['not-a-cidr'] }, 'SWITCHYARD_ERR_INVALID_OPTION');
      rejects({ enabled: true, healthPath: 'healthz' }, 'SWITCHYARD_ERR_INVALID_OPTION');
      rejects({ enabled: true, cookieDomain: 'example.com; Secure' }, 'SWITCHYARD_ERR_INVALID_OPTION');
    } finally {
      await front.close();
    }
  });
});

describe('pages', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-page-'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the built-in page is self-contained and readable on a phone; refresh adds the meta tag', async () => {
    await withPlainApp({ enabled: { mode: 'on', retryAfter: 600 } }, async (app) => {
      const { body } = await request(`${app.origin}/`);
      assert.match(body, /^<!doctype html>/);
      assert.match(body, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
      assert.match(body, /<style>/);
      assert.match(body, /Please try again in about 10 minutes\./);
      assert.doesNotMatch(body, /<script|<link|src=|url\(|https?:\/\//, 'no scripts or external assets');
      assert.doesNotMatch(body, /http-equiv="refresh"/);
    });
    await withPlainApp({ enabled: true, refresh: 15 }, async (app) => {
      assert.match((await request(`${app.origin}/`)).body, /<meta http-equiv="refresh" content="15">/);
    });
  });

  test('a template file gets escaped placeholders; unknown ones stay visible', async () => {
    const file = join(dir, 'page.html');
    writeFileSync(file, '<h1>{{ message }}</h1><p>{{expectedBack}}</p><i>{{status}} {{retryAfter}}</i>{{refresh}}{{typo}}');
    await withPlainApp(
      { enabled: { mode: 'on', message: '<script>x()</script>', retryAfter: 30, status: 500 }, page: file, refresh: 5 },
      async (app) => {
        const reply = await request(`${app.origin}/`);
        assert.equal(reply.status, 500);
        assert.equal(
          reply.body,
          '<h1>&lt;script&gt;x()&lt;/script&gt;</h1><p>Please try again in less than a minute.</p><i>500 30</i>' +
            '<meta http-equiv="refresh" content="5">\n{{typo}}',
        );
      },
    );
  });

  test('a page function gets the details; one that throws falls back to the built-in page', async () => {
    const seen: MaintenancePageInfo[] = [];
    const page = (info: MaintenancePageInfo) => {
      seen.push(info);
      return `<p>custom ${info.site} ${info.status}</p>`;
    };
    await withPlainApp({ enabled: { mode: 'read-only', retryAfter: 90 }, site: 'shop', page }, async (app) => {
      const reply = await request(`${app.origin}/`, { method: 'POST' });
      assert.equal(reply.body, '<p>custom shop 503</p>');
      assert.equal(seen[0]?.retryAfterSeconds, 90);
      assert.equal(seen[0]?.state.mode, 'read-only');
      assert.match(seen[0]?.message ?? '', /changes cannot be saved/);
    });
    const failing = () => {
      throw new Error('template bug');
    };
    await withPlainApp({ enabled: true, page: failing }, async (app) => {
      const reply = await request(`${app.origin}/`);
      assert.equal(reply.status, 503);
      assert.match(reply.body, /Down for maintenance/);
    });
  });
});
