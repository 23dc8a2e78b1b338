// Server-Sent Events and long polls go quiet for longer than the proxy's 30 s timeout; once the
// upstream has started its response, only `streamIdleTimeoutMs` (off by default) may cut it. These
// tests wait for real: an SSE stream quiet for 61 s and a long poll answered after 35 s, with the
// default options, on every framework at once (about a minute of wall time, almost no CPU).
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setRoute } from '@switchyard/core';
import { request } from '../../../test/support/http-client';
import { startUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { type Front, startFront } from './helpers/front';

const SSE_QUIET_MS = 61_000;
const LONG_POLL_MS = 35_000;

let frontEnd: FrontEnd;
let upstream: Upstream;
const fronts: Front[] = [];

before(async () => {
  upstream = await startUpstream((req, res) => {
    req.resume();
    if (req.url?.startsWith('/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('data: first\n\n');
      const quiet = Number(new URL(req.url, 'http://x').searchParams.get('quiet') ?? SSE_QUIET_MS);
      setTimeout(() => res.end('data: after the quiet\n\n'), quiet).unref();
    } else if (req.url === '/poll') {
      // A long poll that sends its head at once and its answer when there is news.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      setTimeout(() => res.end('{"news":true}'), LONG_POLL_MS).unref();
    } else if (req.url === '/late-poll') {
      // A long poll that says nothing at all until there is news.
      setTimeout(() => res.end('{"news":"late"}'), LONG_POLL_MS).unref();
    }
  });
  frontEnd = await createFrontEnd({ store: 'memory://quiet-streams' });
  await setRoute(frontEnd.store, 'default', upstream.url);
  await waitFor(() => frontEnd.watcher.route('default'), { what: 'route applied' });
});

after(async () => {
  await Promise.all(fronts.map((front) => front.close()));
  await upstream.close();
  await frontEnd.close();
});

/** Reads a streamed response to its end, recording when each chunk arrived. */
function readStream(url: string): Promise<{ status: number; chunks: { at: number; text: string }[]; complete: boolean }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    get(url, (res: IncomingMessage) => {
      const chunks: { at: number; text: string }[] = [];
      res.on('data', (chunk: Buffer) => chunks.push({ at: Date.now() - started, text: chunk.toString() }));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, chunks, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, chunks, complete: false }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, chunks, complete: false }));
    }).on('error', reject);
  });
}

describe('quiet streams with the default options', { concurrency: true }, () => {
  for (const kind of ['koa', 'express', 'http'] as const) {
    test(`${kind}: an SSE stream quiet for 61 s is not cut`, async () => {
      const front = await startFront(kind, { frontEnd });
      fronts.push(front);
      const result = await readStream(`${front.url}/events`);
      assert.equal(result.status, 200);
      assert.ok(result.complete, 'the stream ended normally');
      const text = result.chunks.map((chunk) => chunk.text).join('');
      assert.equal(text, 'data: first\n\ndata: after the quiet\n\n');
      assert.ok(result.chunks.at(-1)!.at >= SSE_QUIET_MS - 100, `the last event came after the quiet (${result.chunks.at(-1)!.at} ms)`);
    });

    test(`${kind}: a long poll that sent its head is answered after 35 s`, async () => {
      const front = await startFront(kind, { frontEnd });
      fronts.push(front);
      const result = await readStream(`${front.url}/poll`);
      assert.equal(result.status, 200);
      assert.ok(result.complete);
      assert.equal(result.chunks.map((chunk) => chunk.text).join(''), '{"news":true}');
    });
  }

  test('a long poll silent before its head needs timeoutMs above its wait (documented)', async () => {
    const front = await startFront('http', { frontEnd, timeoutMs: LONG_POLL_MS + 10_000 });
    fronts.push(front);
    const response = await request(`${front.url}/late-poll`, { timeoutMs: LONG_POLL_MS + 20_000 });
    assert.equal(response.status, 200);
    assert.equal(response.body, '{"news":"late"}');
  });

  test('streamIdleTimeoutMs, when set, cuts a stream silent for longer', async () => {
    const front = await startFront('http', { frontEnd, streamIdleTimeoutMs: 300 });
    fronts.push(front);
    const result = await readStream(`${front.url}/events?quiet=3000`);
    assert.equal(result.status, 200);
    assert.equal(result.complete, false, 'an incomplete response must not look complete');
    assert.equal(result.chunks.map((chunk) => chunk.text).join(''), 'data: first\n\n');
  });
});
