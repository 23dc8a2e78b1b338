import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, createLogger, type FrontEnd, requestInfo, setMaintenance, setRoute } from '@switchyard/core';
import { request, requestJson } from '../../../test/support/http-client';
import { freePort } from '../../../test/support/ports';
import { type Echo, startEchoUpstream, startUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { FRONT_KINDS, type Front, startFront } from './helpers/front';

// Pure proxy mechanics: an in-process memory store is enough here (flips over real Redis are in redis-flip.test.ts).
const logLines: string[] = [];
let frontEnd: FrontEnd;
let echo: Upstream;
let held: Upstream;
let silent: Upstream;
let cut: Upstream;
let resetting: Upstream;
const heldResponses: ServerResponse[] = [];
let deadUrl: string;

before(async () => {
  echo = await startEchoUpstream('A');
  held = await startUpstream((req, res) => {
    req.resume();
    req.on('end', () => heldResponses.push(res));
  });
  silent = await startUpstream((req) => req.resume());
  cut = await startUpstream((req, res) => {
    req.resume();
    const chunked = req.url === '/chunked';
    res.writeHead(200, chunked ? {} : { 'content-length': '1000' });
    res.write('the first part of a longer answer');
    setTimeout(() => res.socket?.destroy(), 50);
  });
  resetting = await startUpstream((req) => req.socket.destroy());
  deadUrl = `http://127.0.0.1:${await freePort()}`;
  const store = 'memory://proxy-test';
  frontEnd = await createFrontEnd({ store, logger: createLogger('debug', (line) => logLines.push(line)) });
  await setRoute(frontEnd.store, 'echo.test', echo.url);
  await setRoute(frontEnd.store, 'prefix.test', `${echo.url}/base/`);
  await setRoute(frontEnd.store, 'held.test', held.url);
  await setRoute(frontEnd.store, 'silent.test', silent.url);
  await setRoute(frontEnd.store, 'cut.test', cut.url);
  await setRoute(frontEnd.store, 'dead.test', deadUrl);
  await setRoute(frontEnd.store, 'reset.test', resetting.url);
  await setMaintenance(frontEnd.store, 'maint.test', { mode: 'on' });
  await waitFor(() => frontEnd.watcher.allSites().length === 8, { what: 'the watcher to see every site' });
});

after(async () => {
  for (const res of heldResponses) res.destroy();
  await Promise.all([echo.close(), held.close(), silent.close(), cut.close(), resetting.close()]);
  await frontEnd.close();
});

function logsMatching(pattern: RegExp): Record<string, unknown>[] {
  return logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => pattern.test(JSON.stringify(entry)));
}

for (const kind of FRONT_KINDS) {
  describe(`${kind} proxy`, () => {
    let front: Front;
    let short: Front;

    before(async () => {
      front = await startFront(kind, { frontEnd, sitesByHost: true });
      short = await startFront(kind, { frontEnd, sitesByHost: true, changeOrigin: true, timeoutMs: 300 });
    });

    after(async () => {
      assert.deepEqual([...front.frameworkErrors, ...short.frameworkErrors], [], 'the framework saw no errors');
      await front.close();
      await short.close();
    });

    test('GET: path and query as sent, Host kept, X-Forwarded-* set, response headers passed back', async () => {
      const response = await request(`${front.url}/some/path?x=1&y=2`, { headers: { host: 'echo.test', 'x-custom': 'kept' } });
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-upstream'], 'A');
      const seen = JSON.parse(response.body) as Echo;
      assert.equal(seen.method, 'GET');
      assert.equal(seen.url, '/some/path?x=1&y=2');
      assert.equal(seen.headers.host, 'echo.test');
      assert.equal(seen.headers['x-custom'], 'kept');
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(seen.headers['x-forwarded-host'], 'echo.test');
    });

    test('POST: the body reaches the upstream', async () => {
      const body = JSON.stringify({ greeting: 'hello', n: 42 });
      const { status, json } = await requestJson<Echo>(`${front.url}/form`, {
        method: 'POST',
        headers: { host: 'echo.test', 'content-type': 'application/json' },
        body,
      });
      assert.equal(status, 200);
      assert.equal(json.method, 'POST');
      assert.equal(json.body, body);
      assert.equal(json.headers['content-type'], 'application/json');
    });

    test('the path rule: the upstream gets the canonical path; an ambiguous one is answered 400 and never forwarded', async () => {
      const { json } = await requestJson<Echo>(`${front.url}/a//b/../c?x=1`, { headers: { host: 'echo.test' } });
      assert.equal(json.url, '/a/c?x=1');
      const refused = await requestJson<{ error: string }>(`${front.url}/admin/%2e%2e/public`, {
        headers: { host: 'echo.test', accept: 'application/json' },
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.json.error, 'bad_request');
    });

    test('a target with a path prefixes every proxied path', async () => {
      const { json } = await requestJson<Echo>(`${front.url}/page?q=1`, { headers: { host: 'prefix.test' } });
      assert.equal(json.url, '/base/page?q=1');
    });

    test('changeOrigin sends the target host as Host', async () => {
      const { json } = await requestJson<Echo>(`${short.url}/`, { headers: { host: 'echo.test' } });
      assert.equal(json.headers.host, new URL(echo.url).host);
      assert.equal(json.headers['x-forwarded-host'], 'echo.test');
    });

    test('an unknown site gets a 502 page (HTML for browsers, JSON for API clients)', async () => {
      const page = await request(`${front.url}/`, { headers: { host: 'nowhere.test', accept: 'text/html,*/*;q=0.8' } });
      assert.equal(page.status, 502);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.equal(page.headers['cache-control'], 'no-store');
      assert.match(page.body, /<h1>Bad gateway<\/h1>/);
      const { status, json } = await requestJson<{ error: string; message: string }>(`${front.url}/`, {
        headers: { host: 'nowhere.test', accept: 'application/json' },
      });
      assert.equal(status, 502);
      assert.equal(json.error, 'no_site');
      assert.match(json.message, /No site/);
      const head = await request(`${front.url}/`, { method: 'HEAD', headers: { host: 'nowhere.test' } });
      assert.equal(head.status, 502);
      assert.equal(head.body, '', 'HEAD gets no body');
    });

    test('a site without a route gets a 502', async () => {
      const { status, json } = await requestJson<{ error: string }>(`${front.url}/`, {
        headers: { host: 'maint.test', accept: 'application/json' },
      });
      assert.equal(status, 502);
      assert.equal(json.error, 'no_route');
    });

    test('an upstream refusing connections gets a 502, not 503; logged once per outage, without query strings', async () => {
      logLines.length = 0;
      for (let i = 0; i < 3; i += 1) {
        const { status, json } = await requestJson<{ error: string }>(`${front.url}/pay?token=s3cr3t`, {
          method: 'POST',
          headers: { host: 'dead.test', accept: 'application/json' },
          body: 'card=4111111111111111',
        });
        assert.equal(status, 502);
        assert.equal(json.error, 'upstream_unavailable');
      }
      const warnings = logsMatching(/upstream failed/).filter((entry) => entry.level === 'warn');
      assert.equal(warnings.length, 1, 'one warning per outage, repeats at debug');
      assert.equal(warnings[0]?.target, deadUrl);
      assert.equal(warnings[0]?.path, '/pay');
      assert.equal(warnings[0]?.code, 'ECONNREFUSED');
      assert.doesNotMatch(logLines.join('\n'), /s3cr3t|4111/, 'no query strings or bodies in logs');
    });

    test('an upstream that does not answer in timeoutMs gets a 504', async () => {
      const started = Date.now();
      const page = await request(`${short.url}/slow`, { headers: { host: 'silent.test' } });
      assert.equal(page.status, 504);
      assert.match(page.body, /Gateway timeout/);
      assert.ok(Date.now() - started >= 250, 'not before the timeout');
    });

    test('an upstream dying mid-response cuts the client off instead of hanging or crashing', async () => {
      for (const path of ['/sized', '/chunked']) {
        const failure = await request(`${front.url}${path}`, { headers: { host: 'cut.test' }, timeoutMs: 10_000 }).then(
          () => assert.fail(`${path}: a cut response must not look complete`),
          (error: Error) => error,
        );
        assert.doesNotMatch(failure.message, /in time/, `${path}: the client is cut off, not left waiting`);
      }
      const after = await request(`${front.url}/`, { headers: { host: 'echo.test' } });
      assert.equal(after.status, 200, 'the front end keeps serving');
    });

    test('request notes for metrics and logs: site and target, and the kind of upstream failure', async () => {
      const seen: IncomingMessage[] = [];
      const capture = (req: IncomingMessage) => seen.push(req);
      front.server.on('request', capture);
      short.server.on('request', capture);
      try {
        const cases = [
          [front, 'echo.test', echo.url, 200, undefined],
          [front, 'dead.test', deadUrl, 502, 'refused'],
          [front, 'reset.test', resetting.url, 502, 'reset'],
          [short, 'silent.test', silent.url, 504, 'timeout'],
        ] as const;
        for (const [via, host, target, status, upstreamFailure] of cases) {
          const response = await request(`${via.url}/notes`, { headers: { host } });
          assert.equal(response.status, status, host);
          assert.deepEqual({ ...requestInfo(seen.at(-1)!) }, { site: host, target, ...(upstreamFailure ? { upstreamFailure } : {}) }, host);
        }
      } finally {
        front.server.off('request', capture);
        short.server.off('request', capture);
      }
    });

    test('requests in flight are counted (writes apart) until the exchange ends, then back to zero', async () => {
      const pending = request(`${front.url}/upload`, { method: 'POST', headers: { host: 'held.test' }, body: 'x' });
      await waitFor(() => heldResponses.length === 1, { what: 'the upstream to hold the request' });
      assert.equal(frontEnd.stats.inFlight, 1);
      assert.equal(frontEnd.stats.inFlightWrites, 1);
      heldResponses.shift()?.end('done');
      assert.equal((await pending).body, 'done');
      await waitFor(() => frontEnd.stats.inFlight === 0 && frontEnd.stats.inFlightWrites === 0, { what: 'counters back to zero' });
      await request(`${front.url}/`, { headers: { host: 'dead.test' } });
      assert.equal(frontEnd.stats.inFlight, 0, 'a failed exchange is not left counted');
    });

    test('keep-alive: many sequential requests reuse a few upstream connections', async () => {
      const before = echo.connections;
      for (let i = 0; i < 20; i += 1) {
        const response = await request(`${front.url}/n/${i}`, { headers: { host: 'echo.test' } });
        assert.equal(response.status, 200);
      }
      assert.ok(echo.connections - before <= 2, `20 requests opened ${echo.connections - before} upstream connections`);
    });
  });
}
