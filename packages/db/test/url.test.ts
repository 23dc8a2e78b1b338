import assert from 'node:assert/strict';
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
