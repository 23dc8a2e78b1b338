import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { text } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { createStore, FrontEnd, type Store, setMaintenance, setRoute, silentLogger } from '@switchyard/core';
import { request } from '../../../test/support/http-client';
import { RedisServer } from '../../../test/support/redis-server';
import { startUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { FRAMEWORKS, startApp } from './harness';

/** An app server that names itself and echoes the request. */
function startNamedUpstream(name: string): Promise<Upstream> {
  return startUpstream(async (req, res) => res.end(`${name} ${req.method} ${req.url} ${await text(req)}`));
}

describe('hold released by a maintenance-off written to Redis', () => {
  let redis: RedisServer;
  let front: FrontEnd;
  let cli: Store;
  let oldServer: Upstream;
  let newServer: Upstream;

  before(async () => {
    redis = await RedisServer.start();
    cli = createStore(redis.url, { logger: silentLogger });
    front = await new FrontEnd({ store: redis.url, logger: silentLogger }).start();
    oldServer = await startNamedUpstream('old');
    newServer = await startNamedUpstream('new');
  });

  after(async () => {
    await front.close();
    await cli.close();
    await redis.stop();
    await oldServer.close();
    await newServer.close();
  });

  for (const framework of FRAMEWORKS) {
    test(`${framework}: a held write continues to the new server as soon as maintenance ends`, async () => {
      const site = `hold-${framework}`;
      // The app behind forwards to the site's current route, as the proxy would.
      const forward = async (req: IncomingMessage) => {
        const target = front.watcher.route(site)!.target;
        const body = await text(req);
        const reply = await fetch(`${target}${req.url}`, { method: req.method, ...(body ? { body } : {}) });
        return reply.text();
      };
      const app = await startApp(framework, { frontEnd: front, site }, { behind: forward });
      try {
        await setRoute(cli, site, oldServer.url, { actor: 'test' });
        await setMaintenance(cli, site, { mode: 'read-only', hold: 30_000 }, { actor: 'test' });
        await waitFor(() => front.watcher.maintenance(site)?.hold === 30_000, { what: 'maintenance applied' });

        assert.equal((await request(`${app.origin}/read`)).body, 'old GET /read ', 'reads keep going to the old server');
        const held = request(`${app.origin}/orders`, { method: 'POST', body: 'qty=2' });
        await waitFor(() => app.handler.held === 1 && front.stats.held === 1, { what: 'request held' });

        await setRoute(cli, site, newServer.url, { actor: 'test' });
        const offAt = Date.now();
        await setMaintenance(cli, site, null, { actor: 'test' });
        const reply = await held;
        const waited = Date.now() - offAt;

        assert.equal(reply.status, 200);
        assert.equal(reply.body, 'new POST /orders qty=2');
        assert.ok(waited < 5000, `released ${waited} ms after maintenance ended, long before the 30 s hold`);
        assert.equal(app.handler.held, 0);
        await waitFor(() => front.stats.held === 0, { what: 'held counter back to 0' });
      } finally {
        await app.close();
      }
    });
  }
});

describe('hold limits', () => {
  let front: FrontEnd;
  let writer: Store;

  before(async () => {
    writer = createStore('memory://hold');
    front = await new FrontEnd({ store: 'memory://hold', logger: silentLogger }).start();
  });

  after(async () => {
    await front.close();
    await writer.close();
  });

  async function enter(site: string, hold: number): Promise<void> {
    await setMaintenance(writer, site, { mode: 'on', hold }, { actor: 'test' });
    await waitFor(() => front.watcher.maintenance(site)?.hold === hold, { what: 'maintenance applied' });
  }

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      test('a hold that runs out gives the 503', async () => {
        const site = `timeout-${framework}`;
        await enter(site, 400);
        const app = await startApp(framework, { frontEnd: front, site });
        try {
          const refusedBefore = front.stats.refused;
          const started = Date.now();
          const reply = await request(`${app.origin}/`, { headers: { accept: 'application/json' } });
          const waited = Date.now() - started;
          assert.equal(reply.status, 503);
          assert.equal((JSON.parse(reply.body) as { error: string }).error, 'maintenance');
          assert.ok(waited >= 350, `held ${waited} ms before refusing`);
          assert.equal(front.stats.refused, refusedBefore + 1);
          assert.equal(front.stats.held, 0);
          assert.equal(app.hits(), 0);
        } finally {
          await app.close();
        }
      });

      test('over maxHeld, a request is refused at once; the held ones continue when maintenance ends', async () => {
        const site = `cap-${framework}`;
        await enter(site, 30_000);
        const app = await startApp(framework, { frontEnd: front, site, maxHeld: 2 });
        try {
          const first = request(`${app.origin}/one`);
          const second = request(`${app.origin}/two`);
          await waitFor(() => app.handler.held === 2, { what: 'two requests held' });
          const started = Date.now();
          const third = await request(`${app.origin}/three`);
          assert.equal(third.status, 503);
          assert.ok(Date.now() - started < 5000, 'refused without waiting for the hold');
          assert.equal(app.handler.held, 2);
          await setMaintenance(writer, site, null, { actor: 'test' });
          assert.deepEqual(
            (await Promise.all([first, second])).map((reply) => [reply.status, reply.body]),
            [
              [200, 'app GET /one'],
              [200, 'app GET /two'],
            ],
          );
          assert.equal(app.hits(), 2);
        } finally {
          await app.close();
        }
      });

      test('a client that disconnects while held leaves the queue and is never answered nor passed on', async () => {
        const site = `gone-${framework}`;
        await enter(site, 30_000);
        const app = await startApp(framework, { frontEnd: front, site });
        try {
          const refusedBefore = front.stats.refused;
          const { port } = new URL(app.origin);
          const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false });
          req.on('error', () => undefined);
          req.end();
          await waitFor(() => app.handler.held === 1 && front.stats.held === 1, { what: 'request held' });
          req.destroy();
          await waitFor(() => app.handler.held === 0 && front.stats.held === 0, { what: 'held request dropped' });
          await setMaintenance(writer, site, null, { actor: 'test' });
          await waitFor(() => front.watcher.maintenance(site) === undefined, { what: 'maintenance off' });
          assert.equal((await request(`${app.origin}/after`)).status, 200);
          assert.equal(app.hits(), 1, 'only the request after maintenance reached the app');
          assert.equal(front.stats.refused, refusedBefore, 'a client that left is not counted as refused');
        } finally {
          await app.close();
        }
      });
    });
  }

  test('closing the middleware answers held requests at once', async () => {
    const site = 'closing';
    await enter(site, 30_000);
    const app = await startApp('express', { frontEnd: front, site });
    const started = Date.now();
    const held = request(`${app.origin}/`);
    await waitFor(() => app.handler.held === 1, { what: 'request held' });
    app.handler.close();
    const reply = await held;
    assert.equal(reply.status, 503);
    assert.ok(Date.now() - started < 5000);
    await app.close();
  });
});
