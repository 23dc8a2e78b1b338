import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { isDatabaseError, openDatabaseMove, redactDatabaseUrl } from '../src/index';

test('redactDatabaseUrl hides the password in the user info and in query parameters', () => {
  assert.equal(redactDatabaseUrl('postgres://app:s3cr%40t@db:5432/shop'), 'postgres://app:***@db:5432/shop');
  assert.equal(redactDatabaseUrl('mysql://root@db/shop?password=hunter2&ssl=true'), 'mysql://root@db/shop?password=***&ssl=true');
  assert.equal(redactDatabaseUrl('postgres://app@db/shop'), 'postgres://app@db/shop');
  // Not a URL at all (a space in the host): still no password.
  assert.doesNotMatch(redactDatabaseUrl('postgres://app:hunter2@d b/shop'), /hunter2/);
});

test('openDatabaseMove refuses bad URLs with SWITCHYARD_ERR_DB_URL and never shows the password', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['redis://u:hunter2@h/app', 'postgres://u@h2/app', /unsupported scheme "redis:"/],
    ['postgres://u:hunter2@h/app', 'mysql://u@h2/app', /different engines/],
    ['host=db password=hunter2', 'postgres://u@h2/app', /is not a URL/],
    ['postgres://u:hunter2@d b/app', 'postgres://u@h2/app', /is not a URL/],
    ['postgres://u:hunter2@h/app', 'postgres:///app', /names no host/],
  ];
  for (const [source, target, message] of cases) {
    await assert.rejects(openDatabaseMove(source, target), (error: unknown) => {
      assert.ok(isDatabaseError(error, 'SWITCHYARD_ERR_DB_URL'), String(error));
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  }
});

test('the drivers load only when a URL of their scheme is used', async () => {
  const loaded = () => Object.keys(require.cache).filter((path) => /node_modules[\\/](pg|mysql2)[\\/]/.test(path));
  assert.deepEqual(loaded(), [], 'importing @switchyard/db loads no driver');
  await openDatabaseMove('postgres://u@127.0.0.1:1/app', 'postgres://u@127.0.0.1:2/app', { connectTimeoutMs: 200 }).catch(() => undefined);
  assert.ok(
    loaded().some((path) => /[\\/]pg[\\/]/.test(path)),
    'a postgres:// URL loads pg',
  );
  assert.ok(!loaded().some((path) => /[\\/]mysql2[\\/]/.test(path)), 'and not mysql2');
});

test('a server that accepts connections but never answers is given up on at the connect deadline', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => sockets.add(socket));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const { port } = silent.address() as AddressInfo;
  try {
    const started = performance.now();
    await assert.rejects(
      openDatabaseMove(`postgres://app:hunter2@127.0.0.1:${port}/app`, `postgres://app:hunter2@127.0.0.1:${port}/other`, {
        connectTimeoutMs: 300,
      }),
      (error: unknown) => {
        assert.ok(isDatabaseError(error, 'SWITCHYARD_ERR_DB_PREFLIGHT'), String(error));
        assert.match(error.message, /cannot connect to the (source|target) postgres:\/\/app:\*\*\*@127\.0\.0\.1/);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
    assert.ok(performance.now() - started < 5000, 'bounded by the connect deadline');
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});
