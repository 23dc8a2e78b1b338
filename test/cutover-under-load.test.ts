// The migration recipe end to end, the way an operator runs it: two real front-end processes (the
// Koa and the Express examples) under read/write load, a real Redis, two guestbook app servers with
// their own SQLite files, and `switchyard cutover` as a real process copying the database. Held
// writes mean no request fails; draining in-flight writes before the copy means none is lost.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createStore, readState, silentLogger } from '@switchyard/core';
import { type AppServer, startAppServer } from '../examples/migration-demo/src/app-server';
import { copyDatabase } from '../examples/migration-demo/src/guestbook-db';
import { countByServer, LoadGenerator } from '../examples/migration-demo/src/load-generator';
import { proveAcknowledgedWrites } from '../examples/migration-demo/src/write-proof';
import { runCli } from './support/cli';
import { type FrontProcess, startExampleFront } from './support/front-process';
import { RedisServer } from './support/redis-server';
import { waitFor } from './support/wait';

test('cutover under read/write load through two front-end processes: no failed request, no lost write', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cutover-'));
  const oldDb = join(dir, 'old.db');
  const newDb = join(dir, 'new.db');
  const redis = await RedisServer.start();
  const servers: AppServer[] = [];
  let fronts: FrontProcess[] = [];
  try {
    const oldServer = await startAppServer({ name: 'old', dbPath: oldDb, writeDelayMs: 20, logger: silentLogger });
    servers.push(oldServer);
    await copyDatabase(oldDb, newDb);
    const newServer = await startAppServer({ name: 'new', dbPath: newDb, logger: silentLogger });
    servers.push(newServer);
    await redis.cli.set('switchyard:route:default', oldServer.url);
    fronts = await Promise.all(
      (['koa-front', 'express-front'] as const).map((name) => startExampleFront(name, { SWITCHYARD_REDIS_URL: redis.url })),
    );
    const loads = fronts.map((front) => new LoadGenerator({ target: front.url, rate: 60 }));
    for (const load of loads) load.start();
    await waitFor(() => loads.every((load) => (load.acknowledgedBy().old ?? 0) >= 10), {
      timeoutMs: 15_000,
      what: 'writes on the old server',
    });

    const copy = `${process.execPath} --conditions=switchyard-source --import tsx ${join(__dirname, '..', 'examples', 'migration-demo', 'src', 'copy-db.ts')} ${oldDb} ${newDb}`;
    const cutover = await runCli(
      ['cutover', '--to', newServer.url, '--sync', copy, '--hold', '20000', '--json', '--yes'],
      {
        SWITCHYARD_REDIS_URL: redis.url,
      },
      60_000,
    );
    assert.equal(cutover.code, 0, `${cutover.stdout}\n${cutover.stderr}`);

    await waitFor(() => loads.every((load) => (load.acknowledgedBy().new ?? 0) >= 10), {
      timeoutMs: 15_000,
      what: 'writes on the new server',
    });
    const results = await Promise.all(loads.map((load) => load.stop()));
    const acknowledged = results.flatMap((result) => [...result.acknowledged.keys()]);
    const proof = proveAcknowledgedWrites(newDb, acknowledged);
    const failed = results.reduce((sum, result) => sum + result.failed, 0);
    const sent = results.reduce((sum, result) => sum + result.sent, 0);
    const byServer = results.map((result) => countByServer(result.acknowledged));
    const events = cutover.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const report = events.at(-1) ?? {};
    t.diagnostic(
      `sent ${sent}, failed ${failed}, acknowledged writes ${proof.acknowledged} (${JSON.stringify(byServer)}), missing ${proof.missing.length}`,
    );
    t.diagnostic(`cutover report: ${JSON.stringify(report)}`);

    assert.equal(failed, 0, `failed requests: ${JSON.stringify(results.map((result) => result.outcomes))}`);
    assert.deepEqual(proof.missing, [], 'every acknowledged write is in the new database');
    assert.ok(
      byServer.every((counts) => (counts.old ?? 0) > 0 && (counts.new ?? 0) > 0),
      'both front ends wrote to both servers',
    );
    const store = createStore(redis.url, { logger: silentLogger, reconnect: false });
    const state = await readState(store);
    await store.close();
    assert.equal(state.sites.find((site) => site.site === 'default')?.route?.target, newServer.url);
    assert.equal(state.sites.find((site) => site.site === 'default')?.maintenance, undefined, 'maintenance is off');
    for (const front of fronts) assert.equal(front.stderr(), '', 'front ends printed nothing');
  } finally {
    await Promise.all(fronts.map((front) => front.stop()));
    await Promise.all(servers.map((server) => server.close()));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
