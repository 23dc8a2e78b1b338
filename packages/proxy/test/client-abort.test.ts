import assert from 'node:assert/strict';
import { type ClientRequest, request as httpRequest, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createStore, type Store, silentLogger } from '@switchyard/core';
import { WebSocket, WebSocketServer } from 'ws';
import { startExampleFront } from '../../../test/support/front-process';
import { request } from '../../../test/support/http-client';
import { RedisServer } from '../../../test/support/redis-server';
import { startUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor, waitForEvent } from '../../../test/support/wait';

/** Starts a request and destroys it as soon as `ready` says the exchange is under way. */
async function abortWhen(start: () => ClientRequest, ready: () => boolean): Promise<void> {
  const req = start();
  req.on('error', () => undefined);
  await waitFor(ready, { what: 'the exchange to be under way' });
  req.destroy();
}

describe('client aborts leave a front end silent and serving', () => {
  let redis: RedisServer;
  let store: Store;
  let upstream: Upstream;
  let wss: WebSocketServer;
  const hanging: ServerResponse[] = [];
  let streaming = 0;
  let uploadedBytes = 0;

  before(async () => {
    redis = await RedisServer.start();
    store = createStore(redis.url, { logger: silentLogger });
    upstream = await startUpstream((req, res) => {
      if (req.url === '/hang') {
        hanging.push(res);
        req.resume();
      } else if (req.url === '/stream') {
        streaming += 1;
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('tick\n'), 20);
        res.on('close', () => clearInterval(timer));
      } else if (req.url === '/upload') {
        req.on('data', (chunk: Buffer) => {
          uploadedBytes += chunk.length;
        });
        req.on('end', () => res.end('uploaded'));
      } else {
        req.resume();
        res.end('ok');
      }
    });
    wss = new WebSocketServer({ server: upstream.server });
    wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
    await redis.cli.set('switchyard:route:default', upstream.url);
  });

  after(async () => {
    for (const res of hanging) res.destroy();
    wss.close();
    await upstream.close();
    await store.close();
    await redis.stop();
  });

  // The example front ends, run as operators run them: default log level, Koa without an error listener.
  for (const kind of ['koa-front', 'express-front'] as const) {
    test(`${kind}: aborted downloads, uploads, waits and WebSockets print nothing; counters drain; it still serves`, async () => {
      const front = await startExampleFront(kind, { SWITCHYARD_REDIS_URL: redis.url });
      try {
        assert.equal((await request(`${front.url}/`)).body, 'ok');
        for (let round = 0; round < 3; round += 1) {
          const waiting = hanging.length;
          await abortWhen(
            () => httpRequest(`${front.url}/hang`, { agent: false }).end(),
            () => hanging.length > waiting,
          );
          let gotData = false;
          await abortWhen(
            () => {
              const req = httpRequest(`${front.url}/stream`, { agent: false }, (res) => res.once('data', () => (gotData = true)));
              req.end();
              return req;
            },
            () => gotData,
          );
          const uploadedBefore = uploadedBytes;
          await abortWhen(
            () => {
              const req = httpRequest(`${front.url}/upload`, {
                method: 'POST',
                agent: false,
                headers: { 'content-length': String(10 * 1024 * 1024) },
              });
              req.write(Buffer.alloc(256 * 1024));
              return req;
            },
            () => uploadedBytes > uploadedBefore,
          );
          const socket = new WebSocket(`${front.url.replace('http', 'ws')}/socket`);
          await waitForEvent(socket, 'open');
          socket.terminate();
        }
        assert.equal((await request(`${front.url}/`)).body, 'ok', 'still serving');
        await waitFor(
          async () => {
            const [report] = await store.listFronts();
            return report?.inFlight === 0 && report.inFlightWrites === 0 && streaming > 0;
          },
          { what: 'the heartbeat to show nothing in flight', timeoutMs: 10_000 },
        );
        assert.equal(await front.stop(), 0, 'graceful shutdown');
        assert.equal(front.stderr(), '', 'nothing printed to stderr');
      } finally {
        if (front.child.exitCode === null) front.child.kill('SIGKILL');
      }
    });
  }
});
