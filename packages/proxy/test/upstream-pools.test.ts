// The proxy loads undici's Pool from its own module, not undici's index (the whole library: about
// 9 MB more RSS per front end). These fail if an undici release moves the file: the fallback to the
// index keeps the proxy working, and this says the memory saving is gone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { UpstreamPools } from '../src/upstream-pools';

const options = { maxSockets: 4, idleSocketTimeoutMs: 1000, timeoutMs: 1000, streamIdleTimeoutMs: 0 };

describe('upstream pools', () => {
  test("the pool is undici's public Pool, one per origin", () => {
    const pools = new UpstreamPools(options);
    try {
      const a = pools.for('http://127.0.0.1:9/app');
      const b = pools.for('http://127.0.0.1:9/other');
      const { Pool } = require('undici') as typeof import('undici');
      assert.ok(a.pool instanceof Pool);
      assert.equal(a.pool, b.pool);
      assert.equal(a.pathPrefix, '/app');
      assert.equal(a.host, '127.0.0.1:9');
    } finally {
      pools.destroy();
    }
  });

  test("loading the proxy's pools does not load undici's index", () => {
    const script = [
      `require(${JSON.stringify(join(__dirname, '..', 'src', 'upstream-pools.ts'))});`,
      'const loaded = Object.keys(require.cache).filter((file) => /[\\\\/]node_modules[\\\\/]undici[\\\\/]/.test(file));',
      'process.stdout.write(JSON.stringify(loaded));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--conditions=switchyard-source', '--import', 'tsx', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const loaded = JSON.parse(out) as string[];
    assert.ok(
      loaded.some((file) => file.endsWith(join('lib', 'dispatcher', 'pool.js'))),
      'the Pool module is loaded',
    );
    assert.ok(!loaded.some((file) => file.endsWith(join('undici', 'index.js'))), `undici's index was loaded: ${loaded.length} modules`);
  });
});
