import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { canonicalizeRequest } from '@switchyard/core/internal';
import express from 'express';
import Koa from 'koa';
import mount from 'koa-mount';
import { request } from '../../../test/support/http-client';
import { startUpstream, type Upstream } from '../../../test/support/upstream';
import { expressMaintenance, koaMaintenance } from '../src/index';

// Mounted below a path, the middleware sees `req.url` without the mount point; the health path and
// allow-lists name whole paths, so the whole target as sent (originalUrl) is judged, by the same rule.
const STATE = { mode: 'on', allowPaths: ['/api/public/'], retryAfter: 5 } as const;

describe('maintenance mounted below /api', () => {
  const servers: Upstream[] = [];

  before(async () => {
    const app = express();
    app.use('/api', expressMaintenance({ enabled: STATE }));
    // Behind it, at the root, what the proxy does: the path rule (a no-op unless the target changed), then forward req.url.
    app.use((req, res) => {
      canonicalizeRequest(req);
      res.send(`express ${req.url}`);
    });
    const koa = new Koa();
    koa.use(mount('/api', koaMaintenance({ enabled: STATE })));
    koa.use((ctx) => {
      canonicalizeRequest(ctx.req);
      ctx.body = `koa ${ctx.req.url}`;
    });
    servers.push(await startUpstream(app), await startUpstream(koa.callback() as (req: IncomingMessage, res: ServerResponse) => void));
  });

  after(async () => {
    for (const server of servers) await server.close();
  });

  test('an allowed prefix passes; dot segments and merged slashes cannot leave it; encoded dots are refused', async () => {
    for (const [server, name] of [
      [servers[0]!, 'express'],
      [servers[1]!, 'koa'],
    ] as const) {
      const allowed = await request(`${server.url}/api/public/x`, { method: 'POST' });
      assert.deepEqual([allowed.status, allowed.body], [200, `${name} /api/public/x`], name);
      const resolved = await request(`${server.url}/api/public/./y//z`, { method: 'POST' });
      assert.deepEqual(
        [resolved.status, resolved.body],
        [200, `${name} /api/public/y/z`],
        `${name}: what is forwarded is the canonical target`,
      );
      assert.equal((await request(`${server.url}/api/public/../admin`, { method: 'POST' })).status, 503, name);
      assert.equal((await request(`${server.url}/api/public//../admin`, { method: 'POST' })).status, 503, name);
      assert.equal((await request(`${server.url}/api/public/%2e%2e/admin`, { method: 'POST' })).status, 400, name);
      assert.equal((await request(`${server.url}/api/../api/admin`, { method: 'POST' })).status, 400, `${name}: climbs above the mount`);
    }
  });
});
