import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { startCli } from '../../../test/support/cli';
import { RedisServer } from '../../../test/support/redis-server';
import type { TypeScriptProcess } from '../../../test/support/typescript-process';
import { type AppServer, startAppServer } from './helpers/app-server';
import { runMain } from './helpers/in-process';

describe('switchyard serve', () => {
  let redis: RedisServer;
  let oldApp: AppServer;
  let newApp: AppServer;
  let serve: TypeScriptProcess;
  let url: string;
  let frontId: string;
  let sockets: WebSocketServer;
  let socket: WebSocket | undefined;

  before(async () => {
    redis = await RedisServer.start();
    [oldApp, newApp] = await Promise.all([startAppServer('old'), startAppServer('new')]);
    sockets = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(sockets, 'listening');
    sockets.on('connection', (peer) => peer.on('message', (data) => peer.send(`echo ${String(data)}`)));
    await redis.cli.set('switchyard:route:shop', oldApp.url);
    serve = startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--site', 'shop', '--json'], { SWITCHYARD_REDIS_URL: redis.url });
    await serve.waitForOutput(/"type":"listening"/);
    const listening = JSON.parse(serve.stdout().split('\n')[0] as string) as { url: string; frontEnd: string; site: string };
    url = listening.url;
    frontId = listening.frontEnd;
    assert.equal(listening.site, 'shop');
  });

  after(async () => {
    await serve.stop('SIGKILL');
    socket?.terminate();
    for (const peer of sockets.clients) peer.terminate();
    sockets.close();
    await Promise.all([oldApp.close(), newApp.close()]);
    await redis.stop();
  });

  test('proxies to the route, follows a route set, and reports as a front end', async () => {
    const first = await fetch(`${url}/hello?x=1`);
    assert.equal(first.status, 200);
    assert.equal(await first.text(), 'old GET /hello?x=1');
    const set = await runMain(['route', 'set', newApp.url, '--site', 'shop', '--json'], { redis: redis.url });
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.json<{ convergence: { fronts: number } }>().convergence.fronts, 1, 'serve is the live front end');
    const second = await fetch(`${url}/hello`, { method: 'POST', body: 'x' });
    assert.equal(await second.text(), 'new POST /hello');
    const fronts = (await runMain(['fronts', '--json'], { redis: redis.url })).json<{ fronts: { id: string; converged: boolean }[] }>();
    assert.deepEqual(
      fronts.fronts.map((front) => [front.id, front.converged]),
      [[frontId, true]],
    );
  });

  test('shows maintenance: read-only refuses writes with 503, lets reads through', async () => {
    const on = await runMain(['maintenance', 'on', '--site', 'shop', '--read-only', '--message', 'Moving'], { redis: redis.url });
    assert.equal(on.code, 0, on.stderr);
    const read = await fetch(`${url}/page`);
    assert.equal(read.status, 200);
    await read.text();
    const write = await fetch(`${url}/page`, { method: 'POST', body: 'x', headers: { accept: 'text/html' } });
    assert.equal(write.status, 503);
    assert.match(await write.text(), /Moving/);
    assert.equal((await runMain(['maintenance', 'off', '--site', 'shop'], { redis: redis.url })).code, 0);
  });

  test('WebSockets are proxied; maintenance refuses new handshakes and leaves open sockets open', async () => {
    const wsTarget = `http://127.0.0.1:${(sockets.address() as AddressInfo).port}`;
    assert.equal((await runMain(['route', 'set', wsTarget, '--site', 'shop', '--force'], { redis: redis.url })).code, 0);
    const open = new WebSocket(`${url.replace('http', 'ws')}/live`);
    socket = open;
    await once(open, 'open');
    open.send('hi');
    assert.equal(String((await once(open, 'message'))[0]), 'echo hi');
    assert.equal((await runMain(['maintenance', 'on', '--site', 'shop', '--read-only'], { redis: redis.url })).code, 0);
    const refused = new WebSocket(`${url.replace('http', 'ws')}/live`);
    refused.on('error', () => undefined);
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(response.statusCode, 503);
    refused.terminate();
    open.send('still there');
    assert.equal(String((await once(open, 'message'))[0]), 'echo still there');
    assert.equal((await runMain(['maintenance', 'off', '--site', 'shop'], { redis: redis.url })).code, 0);
  });

  test('a dead upstream gives a 502 page, not a crash', async () => {
    assert.equal((await runMain(['route', 'set', newApp.url, '--site', 'shop'], { redis: redis.url })).code, 0);
    await newApp.close();
    const response = await fetch(`${url}/`);
    assert.equal(response.status, 502);
    await response.text();
    assert.equal(serve.child.exitCode, null);
  });

  test('SIGTERM: graceful shutdown even with a WebSocket open, exit 0, heartbeat removed', async () => {
    assert.equal(socket?.readyState, WebSocket.OPEN);
    const socketClosed = once(socket as WebSocket, 'close');
    serve.child.kill('SIGTERM');
    await socketClosed;
    const result = await serve.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\{"type":"stopped"\}\n$/);
    assert.equal(await redis.cli.exists(`switchyard:front:${frontId}`), 0);
  });
});
