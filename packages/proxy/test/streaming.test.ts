import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createFrontEnd, type FrontEnd, setRoute, silentLogger } from '@switchyard/core';
import { startUpstream, type Upstream } from '../../../test/support/upstream';
import { FRONT_KINDS, type Front, startFront } from './helpers/front';

const MB = 1024 * 1024;
const SIZE = 50 * MB;
/** How long the slow side stops reading at the start of a transfer: enough to fill every buffer in between. */
const STALL_MS = 500;
/** What kernel socket buffers and stream high-water marks can hold; without back-pressure the whole 50 MB goes. */
const MAX_IN_BETWEEN = 30 * MB;
/**
 * Allowed growth of the process (client, proxy and upstream all live in it). A buffering proxy holds
 * the whole 50 MB; on a loaded machine a streaming one was seen at up to 32 MB of short-lived buffers
 * in flight, so the bound sits between the two.
 */
const MAX_GROWTH = 40 * MB;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

// Every socket read allocates a fresh buffer and V8 frees them lazily, so without collections a busy
// process grows with garbage (more so on a loaded machine). Collecting at every sample makes the
// figures what the process retains: a buffering proxy would retain tens of megabytes.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Peak growth of RSS and of retained memory (V8 heap plus buffers) while `work` runs, sampled every 20 ms. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; rss: number; retained: number }> {
  collectGarbage();
  const retainedOf = (usage: NodeJS.MemoryUsage) => usage.heapUsed + usage.arrayBuffers;
  const base = process.memoryUsage();
  let rss = 0;
  let retained = 0;
  const sample = () => {
    collectGarbage();
    const now = process.memoryUsage();
    rss = Math.max(rss, now.rss - base.rss);
    retained = Math.max(retained, retainedOf(now) - retainedOf(base));
  };
  const timer = setInterval(sample, 20);
  try {
    const result = await work();
    sample();
    return { result, rss, retained };
  } finally {
    clearInterval(timer);
  }
}

/** Uploads SIZE bytes as fast as the proxy accepts them; resolves with the upstream's byte count and what was sent while it stalled. */
function upload(url: string, stalled: () => boolean): Promise<{ counted: number; sentDuringStall: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let sentDuringStall = 0;
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ counted: Number(body), sentDuringStall }));
    });
    req.on('error', reject);
    const write = () => {
      while (sent < SIZE) {
        sent += CHUNK.length;
        if (stalled()) sentDuringStall = sent;
        if (!req.write(CHUNK)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

/** Downloads with a reader that stalls first; resolves with the bytes received. */
function download(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let received = 0;
      res.pause();
      setTimeout(() => res.resume(), STALL_MS);
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      res.on('end', () => resolve(received));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('streaming 50 MB through the proxy', () => {
  let frontEnd: FrontEnd;
  let upstream: Upstream;
  let stalled = false;
  let writtenDuringStall = 0;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.method === 'POST') {
        // Counts and discards the upload, after not reading at all for STALL_MS.
        let counted = 0;
        stalled = true;
        req.pause();
        setTimeout(() => {
          stalled = false;
          req.resume();
        }, STALL_MS);
        req.on('data', (chunk: Buffer) => {
          counted += chunk.length;
        });
        req.on('end', () => res.end(String(counted)));
        return;
      }
      // Writes SIZE bytes, honouring back-pressure, noting how much it got rid of while the client stalled.
      req.resume();
      res.writeHead(200, { 'content-length': String(SIZE), 'content-type': 'application/octet-stream' });
      const started = Date.now();
      let written = 0;
      const write = () => {
        while (written < SIZE) {
          written += CHUNK.length;
          if (Date.now() - started < STALL_MS) writtenDuringStall = written;
          if (!res.write(CHUNK)) {
            res.once('drain', write);
            return;
          }
        }
        res.end();
      };
      write();
    });
    frontEnd = await createFrontEnd({ store: 'memory://proxy-streaming-test', logger: silentLogger });
    await setRoute(frontEnd.store, 'default', upstream.url);
    // The first transfers size the allocator's pools; growth is measured after one warm-up each way.
    const warmUp = await startFront('http', { frontEnd });
    await upload(`${warmUp.url}/`, () => stalled);
    await download(`${warmUp.url}/`);
    await warmUp.close();
  });

  after(async () => {
    await upstream.close();
    await frontEnd.close();
  });

  for (const kind of FRONT_KINDS) {
    describe(`${kind} front end`, () => {
      let front: Front;
      before(async () => {
        front = await startFront(kind, { frontEnd });
      });
      after(() => front.close());

      test('an upload reaches the upstream byte for byte, with back-pressure and flat memory', async (t) => {
        const { result, rss, retained } = await peakGrowth(() => upload(`${front.url}/upload`, () => stalled));
        t.diagnostic(
          `in between ${(result.sentDuringStall / MB).toFixed(1)} MB, RSS +${(rss / MB).toFixed(1)} MB, retained +${(retained / MB).toFixed(1)} MB`,
        );
        assert.equal(result.counted, SIZE);
        assert.ok(result.sentDuringStall < MAX_IN_BETWEEN, `${result.sentDuringStall / MB} MB accepted while the upstream was not reading`);
        assert.ok(rss < MAX_GROWTH, `RSS grew ${(rss / MB).toFixed(1)} MB`);
        assert.ok(retained < MAX_GROWTH, `retained memory grew ${(retained / MB).toFixed(1)} MB`);
      });

      test('a download reaches the client byte for byte, with back-pressure and flat memory', async (t) => {
        const { result, rss, retained } = await peakGrowth(() => download(`${front.url}/download`));
        t.diagnostic(
          `in between ${(writtenDuringStall / MB).toFixed(1)} MB, RSS +${(rss / MB).toFixed(1)} MB, retained +${(retained / MB).toFixed(1)} MB`,
        );
        assert.equal(result, SIZE);
        assert.ok(
          writtenDuringStall < MAX_IN_BETWEEN,
          `${writtenDuringStall / MB} MB taken from the upstream while the client was not reading`,
        );
        assert.ok(rss < MAX_GROWTH, `RSS grew ${(rss / MB).toFixed(1)} MB`);
        assert.ok(retained < MAX_GROWTH, `retained memory grew ${(retained / MB).toFixed(1)} MB`);
      });
    });
  }
});
