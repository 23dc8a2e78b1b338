import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UpstreamPool } from '../src/upstream-client';
import { UpstreamPools } from '../src/upstream-pools';

const options = { maxSockets: 4, maxFreeSockets: 4, idleSocketTimeoutMs: 1000, timeoutMs: 1000, streamIdleTimeoutMs: 0 };

describe('upstream pools', () => {
  test('one pool per origin, whatever the path of the target', () => {
    const pools = new UpstreamPools(options);
    try {
      const a = pools.for('http://127.0.0.1:9/app');
      const b = pools.for('http://127.0.0.1:9/other/');
      const c = pools.for('http://127.0.0.1:10');
      assert.ok(a.pool instanceof UpstreamPool);
      assert.equal(a.pool, b.pool);
      assert.notEqual(a.pool, c.pool);
      assert.equal(a.pathPrefix, '/app');
      assert.equal(b.pathPrefix, '/other');
      assert.equal(c.pathPrefix, '');
      assert.equal(a.host, '127.0.0.1:9');
    } finally {
      pools.destroy();
    }
  });
});
