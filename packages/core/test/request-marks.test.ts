import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { request } from '../../../test/support/http-client';
import { noteRequest, requestInfo } from '../src/index';
import { addResponseHeader, canonicalizeRequest, withAddedHeaders } from '../src/internal';

// The per-request marks (path verdict, request info, added response headers) live on Node's own
// objects as properties and on Express's, whose prototype Express swaps, in WeakMaps
// (src/request-mark.ts). A plain handler may mark a request before handing it to an Express app: what
// it marked must still be there after the swap, and what Express's side adds must join it.
describe('per-request marks across a prototype swap', () => {
  let server: Server;
  let url: string;

  before(async () => {
    const app = express();
    app.disable('x-powered-by');
    app.use((req: IncomingMessage, res: ServerResponse) => {
      noteRequest(req, { site: 'shop', target: 'http://10.0.0.2:3000' });
      addResponseHeader(res, 'X-Second', 'after');
      const verdict = canonicalizeRequest(req);
      res.writeHead(200, withAddedHeaders(res, ['content-type', 'application/json']));
      res.end(JSON.stringify({ info: requestInfo(req), verdict, url: req.url }));
    });
    server = createServer((req, res) => {
      // As a plain maintenance handler in front of an Express app would.
      canonicalizeRequest(req);
      noteRequest(req, { maintenance: 'bypassed' });
      addResponseHeader(res, 'X-First', 'before');
      app(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('what a plain handler marked before the swap stays, and what Express adds joins it', async () => {
    const response = await request(`${url}/shop/../cart?x=1`);
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-first'], 'before');
    assert.equal(response.headers['x-second'], 'after');
    const body = JSON.parse(response.body) as { info: unknown; verdict: { ok: boolean; path: string }; url: string };
    assert.deepEqual(body.info, { maintenance: 'bypassed', site: 'shop', target: 'http://10.0.0.2:3000' });
    assert.deepEqual([body.verdict.ok, body.verdict.path, body.url], [true, '/cart', '/cart?x=1']);
  });
});
