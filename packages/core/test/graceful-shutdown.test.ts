import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createFrontEnd, shutDownGracefully, silentLogger } from '../src/index';

test('whenIdle resolves on the change that drains the last request, or false at its deadline', async () => {
  const front = await createFrontEnd({ store: 'memory://when-idle', logger: silentLogger });
  try {
    assert.equal(await front.stats.whenIdle(0), true, 'nothing in flight: at once');
    const first = front.stats.begin('GET', 'http://127.0.0.1:1');
    const second = front.stats.begin('POST', 'http://127.0.0.1:1');
    let drained: boolean | undefined;
    const idle = front.stats.whenIdle(60_000).then((value) => {
      drained = value;
    });
    first();
    await nextTurn();
    assert.equal(drained, undefined, 'one request still in flight');
    const started = performance.now();
    second();
    await idle;
    assert.equal(drained, true);
    assert.ok(performance.now() - started < 1000, 'resolved by the event, not by a 60 s timer');
    assert.equal(front.stats.listenerCount('change'), 1, 'only the front end listens once drained');
    const stuck = front.stats.begin('GET');
    assert.equal(await front.stats.whenIdle(20), false, 'deadline reached with a request in flight');
    stuck();
  } finally {
    await front.close();
  }
});

test('shutDownGracefully waits for the proxied request in flight, then closes the front end', async () => {
  const front = await createFrontEnd({ store: 'memory://graceful', logger: silentLogger });
  const server = createServer((_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const done = front.stats.begin('POST', 'http://127.0.0.1:1');
  let finished = false;
  const shutdown = shutDownGracefully(server, front, { graceMs: 60_000 }).then(() => {
    finished = true;
  });
  await nextTurn();
  await nextTurn();
  assert.equal(finished, false, 'still waiting for the write in flight');
  done();
  await shutdown;
  assert.equal(server.listening, false);
  await assert.rejects(front.store.readAll(), { code: 'SWITCHYARD_ERR_STORE_CLOSED' }, 'the front end closed the store it opened');
});
