import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

import { get as getHttps } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import HttpProxy from 'http-proxy';
import { selfSignedCertificate } from '../../../test/support/certificate';
import { startCli } from '../../../test/support/cli';
import { request } from '../../../test/support/http-client';
import { RedisServer } from '../../../test/support/redis-server';
import type { TypeScriptProcess } from '../../../test/support/typescript-process';
import { type Echo, startEchoUpstream, startUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { main } from '../src/index';
import { runMain } from './helpers/in-process';

interface Listening {
  url: string;
  frontEnd: string;
}

/** Starts `switchyard serve --json` and waits for its `listening` line. */
async function startServe(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ serve: TypeScriptProcess; url: string; frontEnd: string }> {
  const serve = startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--json', ...args], env);
  await serve.waitForOutput(/"type":"listening"/, 30_000);
  const line = serve
    .stdout()
    .split('\n')
    .find((entry) => entry.includes('"type":"listening"')) as string;
  const listening = JSON.parse(line) as Listening;
  return { serve, url: listening.url, frontEnd: listening.frontEnd };
}

describe('switchyard serve, operated on a public address', () => {
  let redis: RedisServer;
  let app: Upstream;
  let dir: string;
  let serve: TypeScriptProcess;
  let url: string;
  let accessLogPath: string;
  let snapshotPath: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-serve-'));
    accessLogPath = join(dir, 'access.log');
    snapshotPath = join(dir, 'state.json');
    writeFileSync(join(dir, 'page.html'), '<html><head>{{refresh}}</head><body>Shop closed: {{message}}</body></html>');
    redis = await RedisServer.start();
    app = await startEchoUpstream('app');
    await redis.cli.set('switchyard:route:shop', app.url);
    ({ serve, url } = await startServe(
      [
        '--site',
        'shop',
        // The load balancer of these tests connects from 127.0.0.3; nothing else is believed.
        '--trust-proxy',
        '127.0.0.3',
        '--health-path',
        '/flag-health',
        '--access-log',
        accessLogPath,
        '--headers-timeout',
        '1s',
        '--request-timeout',
        '2s',
        '--keep-alive-timeout',
        '1s',
        '--refresh',
        '7',
      ],
      {
        SWITCHYARD_REDIS_URL: redis.url,
        // Flags win over the environment; options only in the environment apply.
        SWITCHYARD_HEALTH_PATH: '/env-health',
        SWITCHYARD_SNAPSHOT_PATH: snapshotPath,
        SWITCHYARD_MAX_HELD: '0',
        SWITCHYARD_PAGE: join(dir, 'page.html'),
      },
    ));
  });

  after(async () => {
    await serve?.stop('SIGKILL');
    await app?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('its health endpoint answers from serve itself, even in full maintenance, and is never forwarded', async () => {
    const health = await request(`${url}/flag-health`);
    assert.equal(health.status, 200);
    // The path rule applies first: this is the health path too, and is not forwarded.
    const dotted = await request(`${url}/x/../flag-health?probe=1`);
    assert.equal(dotted.status, 200);
    assert.equal(JSON.parse(dotted.body).status, 'ready');
    assert.equal(health.headers['cache-control'], 'no-store');
    assert.deepEqual(
      { ...JSON.parse(health.body), frontEnd: undefined, version: undefined },
      { status: 'ready', redis: 'connected', frontEnd: undefined, version: undefined, invalidKeys: [], lostState: false },
    );
    assert.equal((await runMain(['maintenance', 'on', '--site', 'shop'], { redis: redis.url })).code, 0);
    try {
      assert.equal((await request(`${url}/flag-health`)).status, 200, 'health passes maintenance');
      assert.equal((await request(`${url}/anything`)).status, 503);
    } finally {
      assert.equal((await runMain(['maintenance', 'off', '--site', 'shop'], { redis: redis.url })).code, 0);
    }
    // The variable lost to the flag, so its path is an ordinary request.
    const forwarded = await request(`${url}/env-health`);
    assert.equal((JSON.parse(forwarded.body) as Echo).url, '/env-health');
  });

  test('maintenance options: the page template and refresh from serve, --max-held 0 (from the environment) holds nothing', async () => {
    const on = await runMain(['maintenance', 'on', '--site', 'shop', '--hold', '10000', '--message', 'back soon'], { redis: redis.url });
    assert.equal(on.code, 0, on.stderr);
    try {
      const started = Date.now();
      const refused = await request(`${url}/cart`, { method: 'POST', body: 'x', headers: { accept: 'text/html' } });
      assert.equal(refused.status, 503);
      assert.ok(Date.now() - started < 5000, 'refused at once, not held');
      assert.match(refused.body, /<meta http-equiv="refresh" content="7">/);
      assert.match(refused.body, /Shop closed: back soon/);
    } finally {
      assert.equal((await runMain(['maintenance', 'off', '--site', 'shop'], { redis: redis.url })).code, 0);
    }
  });

  test('--trust-proxy <cidr>: an X-Forwarded-For sent by the client cannot pass maintenance --allow-ip', async () => {
    // A real load balancer at 127.0.0.3 that appends the address it sees, as nginx and HAProxy do.
    const balancer = HttpProxy.createProxyServer({ target: url, xfwd: true, localAddress: '127.0.0.3' } as HttpProxy.ServerOptions);
    const front = await startUpstream((req, res) => balancer.web(req, res));
    try {
      const on = await runMain(['maintenance', 'on', '--site', 'shop', '--allow-ip', '203.0.113.7'], { redis: redis.url });
      assert.equal(on.code, 0, on.stderr);
      const spoofed = await request(`${front.url}/admin`, {
        method: 'POST',
        headers: { 'x-forwarded-for': '203.0.113.7' },
        localAddress: '127.0.0.2',
      });
      assert.equal(spoofed.status, 503, 'the client is 127.0.0.2, whatever it claims');
      // Allow the real client, and the same request passes: the trusted hop is believed.
      const allowed = await runMain(['maintenance', 'on', '--site', 'shop', '--allow-ip', '127.0.0.2'], { redis: redis.url });
      assert.equal(allowed.code, 0, allowed.stderr);
      const real = await request(`${front.url}/admin`, {
        method: 'POST',
        headers: { 'x-forwarded-for': '203.0.113.7' },
        localAddress: '127.0.0.2',
      });
      assert.equal(real.status, 200);
      // A client connecting directly (not through the trusted balancer) is judged by its socket.
      const direct = await request(`${url}/admin`, {
        method: 'POST',
        headers: { 'x-forwarded-for': '127.0.0.2' },
        localAddress: '127.0.0.4',
      });
      assert.equal(direct.status, 503);
    } finally {
      assert.equal((await runMain(['maintenance', 'off', '--site', 'shop'], { redis: redis.url })).code, 0);
      balancer.close();
      await front.close();
    }
  });

  test('X-Request-Id is passed through or generated, forwarded upstream, and returned', async () => {
    const given = await request(`${url}/id`, { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(given.headers['x-request-id'], 'abc-123');
    assert.equal((JSON.parse(given.body) as Echo).headers['x-request-id'], 'abc-123');
    const made = await request(`${url}/id`, { headers: { 'x-request-id': 'has spaces and "quotes"' } });
    const id = made.headers['x-request-id'] as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal((JSON.parse(made.body) as Echo).headers['x-request-id'], id);
  });

  test('the access log: one JSON line per request, without the bypass secret, cookies, authorization or query', async () => {
    const secret = 'bypass-s3cr3t-value';
    const on = await runMain(['maintenance', 'on', '--site', 'shop', '--secret', secret], { redis: redis.url });
    assert.equal(on.code, 0, on.stderr);
    try {
      const grant = await request(`${url}/${secret}`, { headers: { 'x-request-id': 'grant-1' } });
      assert.equal(grant.status, 302);
      const cookie = String(grant.headers['set-cookie']).split(';')[0] as string;
      const passed = await request(`${url}/orders?token=query-t0ken`, {
        method: 'POST',
        body: 'x',
        headers: { cookie, authorization: 'Bearer auth-t0ken', 'x-request-id': 'pass-1' },
        localAddress: '127.0.0.5',
      });
      assert.equal(passed.status, 200);
      const refused = await request(`${url}/orders`, { method: 'POST', body: 'x', headers: { 'x-request-id': 'refused-1' } });
      assert.equal(refused.status, 503);
    } finally {
      assert.equal((await runMain(['maintenance', 'off', '--site', 'shop'], { redis: redis.url })).code, 0);
    }
    const lines = await waitFor(
      () => {
        const entries = readFileSync(accessLogPath, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        return entries.some((entry) => entry.requestId === 'refused-1') ? entries : undefined;
      },
      { what: 'the access log lines' },
    );
    const text = readFileSync(accessLogPath, 'utf8');
    for (const leak of [secret, 'auth-t0ken', 'query-t0ken', 'Bearer', 'switchyard_bypass'])
      assert.ok(!text.includes(leak), `${leak} is logged`);
    const byId = (id: string) => lines!.find((entry) => entry.requestId === id) as Record<string, unknown>;
    assert.deepEqual(
      { ...byId('grant-1'), time: undefined, durationMs: undefined, bytes: undefined },
      {
        time: undefined,
        method: 'GET',
        path: '[bypass secret]',
        status: 302,
        bytes: undefined,
        durationMs: undefined,
        site: 'shop',
        target: null,
        requestId: 'grant-1',
        client: '127.0.0.1',
        maintenance: 'bypassed',
      },
    );
    const pass = byId('pass-1');
    assert.equal(pass.path, '/orders');
    assert.equal(pass.status, 200);
    assert.equal(pass.target, app.url);
    assert.equal(pass.client, '127.0.0.5');
    assert.equal(pass.maintenance, 'bypassed');
    assert.ok((pass.bytes as number) > 100 && (pass.durationMs as number) >= 0);
    assert.equal(byId('refused-1').status, 503);
    assert.equal(byId('refused-1').maintenance, 'refused');
  });

  test('SIGHUP reopens the access log: after logrotate moves the file, new lines go to a new file at the path', async () => {
    const readIds = (path: string) =>
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as { requestId?: string }).requestId);
    assert.equal((await request(`${url}/before-rotate`, { headers: { 'x-request-id': 'before-rotate' } })).status, 200);
    await waitFor(() => readIds(accessLogPath).includes('before-rotate') || undefined, { what: 'the line before the rotation' });
    const rotated = `${accessLogPath}.1`;
    renameSync(accessLogPath, rotated);
    serve.child.kill('SIGHUP');
    // Until serve has handled the signal a request may still land in the moved file: send until one reaches the new one.
    let sent = 0;
    await waitFor(
      async () => {
        sent += 1;
        const id = `after-rotate-${sent}`;
        assert.equal((await request(`${url}/after-rotate`, { headers: { 'x-request-id': id } })).status, 200);
        return existsSync(accessLogPath) && readIds(accessLogPath).some((line) => line?.startsWith('after-rotate-')) ? true : undefined;
      },
      { what: 'a line in the reopened access log' },
    );
    assert.ok(readIds(rotated).includes('before-rotate'));
    assert.ok(!readIds(accessLogPath).includes('before-rotate'), 'the new file starts empty');
    assert.equal(serve.child.exitCode, null, 'SIGHUP does not end serve');
  });

  test('--headers-timeout: 100 connections sending their headers slowly are all closed by the deadline; others are served', async () => {
    const opened = Date.now();
    const { port } = new URL(url);
    const sockets: Socket[] = [];
    for (let index = 0; index < 100; index += 1) {
      const socket = netConnect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      // Reading, so the end of the connection is seen.
      socket.resume();
      socket.write('GET /slow HTTP/1.1\r\nHost: shop\r\n');
      sockets.push(socket);
    }
    const closedAt = Promise.all(sockets.map((socket) => once(socket, 'close').then(() => Date.now())));
    // While they hang, the front end still serves.
    assert.equal((await request(`${url}/fast`)).status, 200);
    const times = await closedAt;
    const last = Math.max(...times) - opened;
    const first = Math.min(...times) - opened;
    assert.ok(first >= 900, `closed after ${first} ms, before the 1 s deadline`);
    assert.ok(last < 4000, `the last slow connection closed after ${last} ms`);
  });

  test('--request-timeout: an upload at 1 byte/s is cut (408) and stops counting as a write in flight', async () => {
    const { port } = new URL(url);
    const socket = netConnect(Number(port), '127.0.0.1');
    socket.setEncoding('utf8');
    let answer = '';
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', () => undefined);
    socket.write('POST /upload HTTP/1.1\r\nHost: shop\r\nContent-Length: 100\r\n\r\n');
    const started = Date.now();
    const drip = setInterval(() => socket.write('x'), 1000);
    try {
      await once(socket, 'close');
    } finally {
      clearInterval(drip);
    }
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1900 && elapsed < 6000, `cut after ${elapsed} ms`);
    assert.match(answer, /^HTTP\/1\.1 408/);
    const fronts = await waitFor(
      async () => {
        const run = await runMain(['fronts', '--json'], { redis: redis.url });
        const [front] = run.json<{ fronts: { inFlightWrites: number }[] }>().fronts;
        return front?.inFlightWrites === 0 ? front : undefined;
      },
      { what: 'no write in flight' },
    );
    assert.equal(fronts?.inFlightWrites, 0);
  });

  test('--keep-alive-timeout: an idle client connection is closed after it', async () => {
    // A raw socket: Node's own client agent closes sockets early when told `Keep-Alive: timeout=1`.
    const { port } = new URL(url);
    const socket = netConnect(Number(port), '127.0.0.1');
    socket.setEncoding('utf8');
    let answer = '';
    const answered = new Promise<void>((resolve) => {
      socket.on('data', (chunk: string) => {
        answer += chunk;
        if (/\r\n\r\n[\s\S]*"name":"app"/.test(answer)) resolve();
      });
    });
    const closed = once(socket, 'close');
    socket.write('GET /idle HTTP/1.1\r\nHost: shop\r\nConnection: keep-alive\r\n\r\n');
    await answered;
    assert.match(answer, /^HTTP\/1\.1 200/);
    const idle = Date.now();
    await closed;
    const after = Date.now() - idle;
    assert.ok(after >= 700 && after < 4000, `idle connection closed after ${after} ms`);
  });

  test('--snapshot-path: a serve started while Redis is down serves the saved state, and is ready only after it syncs', async () => {
    await waitFor(() => readFileSync(snapshotPath, 'utf8').includes(app.url), { what: 'the snapshot file' });
    await redis.stop();
    const late = await startServe(['--site', 'shop', '--snapshot-path', snapshotPath, '--start-timeout', '300ms', '--health-path', '/up'], {
      SWITCHYARD_REDIS_URL: redis.url,
    });
    try {
      const served = await request(`${late.url}/from-snapshot`);
      assert.equal(served.status, 200);
      assert.equal((JSON.parse(served.body) as Echo).url, '/from-snapshot');
      const starting = await request(`${late.url}/up`);
      assert.equal(starting.status, 503);
      assert.equal(JSON.parse(starting.body).status, 'starting');
      assert.equal(JSON.parse(starting.body).redis, 'disconnected');
      // The first serve, already synced, stays ready without Redis and says Redis is gone.
      const down = await waitFor(
        async () => {
          const health = await request(`${url}/flag-health`);
          return JSON.parse(health.body).redis === 'disconnected' ? health : undefined;
        },
        { what: 'health to report Redis down' },
      );
      assert.equal(down?.status, 200);
      await redis.restart();
      await redis.cli.set('switchyard:route:shop', app.url);
      const ready = await waitFor(
        async () => {
          const health = await request(`${late.url}/up`);
          return health.status === 200 ? health : undefined;
        },
        { what: 'the late serve to become ready', timeoutMs: 15_000 },
      );
      assert.equal(JSON.parse(ready!.body).redis, 'connected');
    } finally {
      await late.serve.stop('SIGKILL');
    }
  });
});

describe('switchyard serve --tls-cert/--tls-key', () => {
  let dir: string;
  let redis: RedisServer;
  let app: Upstream;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-serve-tls-'));
    redis = await RedisServer.start();
    app = await startEchoUpstream('app');
    await redis.cli.set('switchyard:route:default', app.url);
  });

  after(async () => {
    await app?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function makeCertificate(name: string): { cert: string; key: string } {
    return selfSignedCertificate(dir, name);
  }

  async function peerName(port: number): Promise<string> {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    const name = socket.getPeerCertificate().subject.CN as string;
    socket.destroy();
    return name;
  }

  test('serves HTTPS, and SIGHUP loads a new certificate (a bad one is refused and the old one kept)', async () => {
    const first = makeCertificate('first');
    const second = makeCertificate('second');
    const [certPath, keyPath] = [join(dir, 'live.pem'), join(dir, 'live.key')];
    writeFileSync(certPath, first.cert);
    writeFileSync(keyPath, first.key);
    const { serve, url } = await startServe(['--tls-cert', certPath, '--tls-key', keyPath], { SWITCHYARD_REDIS_URL: redis.url });
    try {
      assert.match(url, /^https:/);
      const port = Number(new URL(url).port);
      assert.equal(await peerName(port), 'first');
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsGet(`${url}/secure`, resolve);
        req.on('error', reject);
      });
      assert.equal((JSON.parse(body) as Echo).headers['x-forwarded-proto'], 'https');

      writeFileSync(certPath, second.cert);
      writeFileSync(keyPath, second.key);
      serve.child.kill('SIGHUP');
      await waitFor(() => serve.stdout().includes('"type":"tls-reloaded"'), { what: 'the reload' });
      assert.equal(await peerName(port), 'second');

      writeFileSync(certPath, 'not a certificate');
      serve.child.kill('SIGHUP');
      await serve.waitForOutput(/"type":"tls-reload-failed"/);
      assert.equal(await peerName(port), 'second');
      assert.equal(serve.child.exitCode, null);
    } finally {
      await serve.stop('SIGKILL');
    }
  });
});

describe('switchyard serve usage', () => {
  test('a bare --trust-proxy, or one meaning "believe everyone", is refused with how to fix it', async () => {
    const bare = await runMain(['serve', '--trust-proxy']);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /--trust-proxy needs a value <hops\|ip\/cidr,…>/);
    const everyone = await runMain(['serve', '--trust-proxy', 'true']);
    assert.equal(everyone.code, 2);
    assert.match(everyone.stderr, /would believe any client's X-Forwarded-For; give the number of proxies/);
    const bad = await runMain(['serve', '--trust-proxy', '10.0.0.0/99']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --trust-proxy "10\.0\.0\.0\/99"/);
  });

  test('a bad value in a SWITCHYARD_* variable names the variable; the flag wins over it', async () => {
    const fromEnv = await runMainWithEnv(['serve'], { SWITCHYARD_PORT: 'eighty' });
    assert.equal(fromEnv.code, 2);
    assert.match(fromEnv.stderr, /invalid SWITCHYARD_PORT "eighty"/);
    const flagWins = await runMainWithEnv(['serve', '--max-held', 'lots'], { SWITCHYARD_MAX_HELD: '5' });
    assert.match(flagWins.stderr, /invalid --max-held "lots"/);
    const tls = await runMainWithEnv(['serve', '--tls-cert', '/nonexistent.pem'], {});
    assert.equal(tls.code, 2);
    assert.match(tls.stderr, /--tls-cert and --tls-key go together/);
  });
});

/** Runs the CLI in this process with extra environment variables. */
async function runMainWithEnv(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await main(args, {
    stdout: { write: () => true },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { code, stderr };
}

function httpsGet(url: string, done: (body: string) => void) {
  return getHttps(url, { rejectUnauthorized: false }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      body += chunk;
    });
    res.on('end', () => done(body));
  });
}
