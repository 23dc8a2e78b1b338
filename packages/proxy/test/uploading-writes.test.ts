// The drain policy: a write still uploading its body when maintenance starts is cut (503, never
// acknowledged, so nothing is lost), so a 1 byte/s client cannot hold a cutover's drain open; a write
// whose body has fully arrived is left to finish, which is what the drain waits for.
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, setMaintenance, setRoute } from '@switchyard/core';
import { startUpstream, type Upstream } from '../../../test/support/upstream';
import { waitFor } from '../../../test/support/wait';
import { FRONT_KINDS, type Front, startFront } from './helpers/front';

let frontEnd: FrontEnd;
let upstream: Upstream;
/** What the upstream saw of each request: its body arrived whole, or the request was aborted. */
const seen: { url: string; outcome: 'complete' | 'aborted' }[] = [];
const waiting: ServerResponse[] = [];

before(async () => {
  upstream = await startUpstream((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ url: req.url ?? '', outcome: 'complete' });
      // The finished upload's answer waits until the test releases it.
      if (req.url === '/slow-answer') waiting.push(res);
      else res.end('stored');
    });
    req.on('close', () => {
      if (!req.complete) seen.push({ url: req.url ?? '', outcome: 'aborted' });
    });
  });
  frontEnd = await createFrontEnd({ store: 'memory://uploading-writes' });
  await setRoute(frontEnd.store, 'default', upstream.url);
  await waitFor(() => frontEnd.watcher.route('default'), { what: 'route applied' });
});

after(async () => {
  for (const res of waiting) res.destroy();
  await upstream.close();
  await frontEnd.close();
});

beforeEach(async () => {
  await setMaintenance(frontEnd.store, 'default', null);
  await waitFor(() => frontEnd.watcher.maintenance('default') === undefined, { what: 'maintenance off' });
  seen.length = 0;
});

/** Starts a POST that declares `length` bytes and sends `sent` of them; resolves with the response when one comes. */
function startUpload(url: string, length: number, sent: number) {
  let resolveResponse!: (value: { status: number; body: string; error?: string }) => void;
  const response = new Promise<{ status: number; body: string; error?: string }>((resolve) => {
    resolveResponse = resolve;
  });
  const req = httpRequest(url, {
    method: 'POST',
    headers: { 'content-length': String(length), accept: 'application/json', 'content-type': 'text/plain' },
  });
  req.on('response', (res) => {
    let body = '';
    res.on('data', (chunk: Buffer) => {
      body += chunk;
    });
    res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, body }));
    res.on('error', () => resolveResponse({ status: res.statusCode ?? 0, body }));
  });
  req.on('error', (error) => resolveResponse({ status: 0, body: '', error: error.message }));
  req.write('x'.repeat(sent));
  return { req, response };
}

for (const kind of FRONT_KINDS) {
  describe(`${kind}: writes in flight when maintenance starts`, () => {
    let front: Front;
    before(async () => {
      front = await startFront(kind, { frontEnd });
    });
    after(() => front.close());

    test('a write still uploading is cut with a 503 and stops counting as in flight', async () => {
      const upload = startUpload(`${front.url}/slow-upload`, 1000, 10);
      await waitFor(() => frontEnd.stats.inFlightWrites === 1, { what: 'the upload in flight' });
      await setMaintenance(frontEnd.store, 'default', { mode: 'read-only' });
      const response = await upload.response;
      assert.equal(response.status, 503, response.error ?? response.body);
      assert.equal(JSON.parse(response.body).error, 'maintenance');
      await waitFor(() => frontEnd.stats.inFlightWrites === 0, { what: 'the in-flight count back to 0' });
      await waitFor(() => seen.some((entry) => entry.url === '/slow-upload'), {
        what: `the upstream to see the abort (saw ${JSON.stringify(seen)})`,
      });
      assert.deepEqual(
        seen.filter((entry) => entry.url === '/slow-upload'),
        [{ url: '/slow-upload', outcome: 'aborted' }],
      );
      upload.req.destroy();
    });

    test('a write whose body has arrived is left to finish: the drain waits for it', async () => {
      const upload = startUpload(`${front.url}/slow-answer`, 10, 10);
      upload.req.end();
      await waitFor(() => waiting.length === 1, { what: 'the upstream to have the whole body' });
      await setMaintenance(frontEnd.store, 'default', { mode: 'read-only' });
      await waitFor(() => frontEnd.watcher.maintenance('default') !== undefined, { what: 'maintenance applied' });
      assert.equal(frontEnd.stats.inFlightWrites, 1);
      waiting.shift()!.end('stored');
      const response = await upload.response;
      assert.equal(response.status, 200);
      assert.equal(response.body, 'stored');
      await waitFor(() => frontEnd.stats.inFlightWrites === 0, { what: 'the in-flight count back to 0' });
    });
  });
}
