import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FrontEnd, Store } from '@switchyard/core';
import { expressMaintenance, koaMaintenance } from '../src/index';
import { startFrontInMaintenance } from './harness';

let front: FrontEnd;
let writer: Store;

before(async () => {
  ({ front, writer } = await startFrontInMaintenance('middleware-shape', { default: { mode: 'on' } }));
});

after(async () => {
  await front.close();
  await writer.close();
});

// Issue 7: like the proxy middlewares (`upgrade`, `attach`, `close` on the function), the maintenance
// ones carry what a front end needs directly, not only under `.handler`.
for (const [name, create] of [
  ['koa', koaMaintenance],
  ['express', expressMaintenance],
] as const) {
  test(`${name}: close(), guardUpgrade, held and stats are on the middleware itself; .handler is kept`, () => {
    const listeners = front.watcher.listenerCount('change');
    const middleware = create({ frontEnd: front });
    assert.equal(front.watcher.listenerCount('change'), listeners + 1);
    assert.equal(typeof middleware, 'function');
    assert.equal(middleware.guardUpgrade, middleware.handler.guardUpgrade);
    assert.equal(middleware.stats, front.stats);
    assert.equal(middleware.held, 0);
    middleware.close();
    assert.equal(front.watcher.listenerCount('change'), listeners, 'close() stopped listening to the watcher');
    middleware.close();
    assert.equal(front.watcher.listenerCount('change'), listeners, 'close() twice is harmless');
  });
}
