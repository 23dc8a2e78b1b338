import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type FrontEnd, requestInfo, type Store, setMaintenance } from '@switchyard/core';
import { request } from '../../../test/support/http-client';
import { waitFor } from '../../../test/support/wait';
import { FRAMEWORKS, startApp, startFrontInMaintenance, type TestApp } from './harness';

// CONTRACTS §3: maintenance notes what it did with a request (refused, held, bypassed) for the
// metrics and the access log, which read the note when the response finishes.
describe('request notes', () => {
  let front: FrontEnd;
  let writer: Store;

  before(async () => {
    ({ front, writer } = await startFrontInMaintenance('request-notes', {
      full: { mode: 'on', allowPaths: ['/status'], allowIps: ['127.0.0.2'] },
    }));
  });

  after(async () => {
    await front.close();
    await writer.close();
  });

  /** The notes of every finished request on the app's server, in order. */
  function notesOf(app: TestApp): (string | undefined)[] {
    const notes: (string | undefined)[] = [];
    app.server.on('request', (req: IncomingMessage, res) => res.once('finish', () => notes.push(requestInfo(req)?.maintenance)));
    return notes;
  }

  for (const framework of FRAMEWORKS) {
    test(`${framework}: refused, bypassed (path, IP), held, and nothing when maintenance is off`, async () => {
      const site = (req: IncomingMessage) => String(req.headers['x-site'] ?? 'full');
      const app = await startApp(framework, { frontEnd: front, site });
      try {
        const notes = notesOf(app);
        assert.equal((await request(`${app.origin}/orders`, { method: 'POST' })).status, 503);
        assert.equal((await request(`${app.origin}/status`)).status, 200);
        assert.equal((await request(`${app.origin}/orders`, { localAddress: '127.0.0.2' })).status, 200);
        assert.equal((await request(`${app.origin}/`, { headers: { 'x-site': 'elsewhere' } })).status, 200);
        await waitFor(() => notes.length === 4, { what: 'four responses finished' });
        assert.deepEqual(notes, ['refused', 'bypassed', 'bypassed', undefined]);

        const heldSite = `held-${framework}`;
        await setMaintenance(writer, heldSite, { mode: 'on', hold: 30_000 }, { actor: 'test' });
        await waitFor(() => front.watcher.maintenance(heldSite), { what: 'hold applied' });
        const held = request(`${app.origin}/orders`, { method: 'POST', headers: { 'x-site': heldSite } });
        await waitFor(() => app.handler.held === 1, { what: 'request held' });
        await setMaintenance(writer, heldSite, null, { actor: 'test' });
        assert.equal((await held).status, 200);
        await waitFor(() => notes.length === 5, { what: 'the held response finished' });
        assert.equal(notes[4], 'held');
      } finally {
        await app.close();
      }
    });
  }
});
