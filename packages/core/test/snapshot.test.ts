import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import { createLogger, FrontEnd, silentLogger } from '../src/index';

test('restarted while Redis is down, a front end serves the state from its snapshot file, then follows Redis again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-snapshot-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const snapshotPath = join(dir, 'state.json');
  const redis = await RedisServer.start();
  t.after(() => redis.stop());
  await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
  await redis.cli.set('switchyard:maintenance:default', JSON.stringify({ mode: 'read-only', message: 'copying' }));

  const first = new FrontEnd({ store: redis.url, logger: silentLogger, snapshotPath });
  await first.start();
  await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:2222');
  await waitFor(() => readFileSafely(snapshotPath).includes('http://127.0.0.1:2222'), { what: 'snapshot saved after the change' });
  await first.close();
  await redis.kill();

  const lines: string[] = [];
  const second = new FrontEnd({
    store: redis.url,
    logger: createLogger('warn', (line) => lines.push(line)),
    snapshotPath,
    startTimeoutMs: 300,
  });
  t.after(() => second.close());
  await second.start();
  assert.equal(second.watcher.route('default')?.target, 'http://127.0.0.1:2222');
  assert.equal(second.watcher.maintenance('default')?.mode, 'read-only');
  assert.equal(lines.filter((line) => JSON.parse(line).event === 'snapshot-served').length, 1);

  await redis.restart();
  await waitFor(() => second.watcher.connected, { timeoutMs: 10_000, what: 'reconnect' });
  await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:3333');
  await waitFor(() => second.watcher.route('default')?.target === 'http://127.0.0.1:3333', { what: 'Redis followed again' });
});

test('without a snapshot file, start() still fails when Redis is unreachable', async (t) => {
  const redis = await RedisServer.start();
  t.after(() => redis.stop());
  await redis.kill();
  const front = new FrontEnd({
    store: redis.url,
    logger: silentLogger,
    snapshotPath: join(tmpdir(), 'switchyard-no-such-snapshot.json'),
    startTimeoutMs: 300,
  });
  await assert.rejects(front.start(), { code: 'SWITCHYARD_ERR_STORE_UNAVAILABLE' });
});

function readFileSafely(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
