import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { selfSignedCertificate } from '../../../test/support/certificate';
import { freePort } from '../../../test/support/ports';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import { FrontEnd, silentLogger } from '../src/index';

test('over TLS (rediss / ioredis tls options): a front end loads state and sees pushed changes (a taken port is retried)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { certPath: cert, keyPath: key } = selfSignedCertificate(dir, '127.0.0.1');
  // The first TLS port offered is taken, as when another test file binds a port found free a moment
  // earlier (it happened in CI): the start is retried on new ports.
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.after(() => squatter.close());
  let attempts = 0;
  let tlsPort = 0;
  // The plain port stays open for the test's own redis-cli; the front end only speaks TLS.
  const redis = await RedisServer.start(async () => {
    attempts += 1;
    tlsPort = attempts === 1 ? (squatter.address() as AddressInfo).port : await freePort();
    return [
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      cert,
      '--tls-key-file',
      key,
      '--tls-ca-cert-file',
      cert,
      '--tls-auth-clients',
      'no',
    ];
  });
  t.after(() => redis.stop());
  assert.equal(attempts, 2, 'retried once after the taken port');
  await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:1111');
  const front = new FrontEnd({
    store: { host: '127.0.0.1', port: tlsPort, tls: { ca: readFileSync(cert) } },
    logger: silentLogger,
    resyncIntervalMs: 60_000,
  });
  t.after(() => front.close());
  await front.start();
  assert.equal(front.watcher.route('default')?.target, 'http://127.0.0.1:1111');
  await redis.cli.set('switchyard:route:default', 'http://127.0.0.1:2222');
  await waitFor(() => front.watcher.route('default')?.target === 'http://127.0.0.1:2222', { what: 'pushed change over TLS' });
  const clients = String(await redis.cli.call('CLIENT', 'LIST'));
  assert.ok(
    clients.split('\n').filter((line) => line.includes(`laddr=127.0.0.1:${tlsPort}`)).length >= 2,
    'both connections use the TLS port',
  );
});
