// The database-aware cutover end to end, the same for every engine: two real front-end processes under
// read/write load, a real Redis, two guestbook app servers — the old one on the source database, the
// new one on its replica — and `switchyard cutover --db-source … --db-target … --fence-source` as a
// real process. Held writes mean no request fails; drain, fence and catch-up before the promotion
// mean no acknowledged write is lost; the window is measured.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { countByServer, LoadGenerator } from '../../examples/migration-demo/src/load-generator';
import { runCli } from './cli';
import { type FrontProcess, startExampleFront } from './front-process';
import { RedisServer } from './redis-server';
import type { SqlGuestbook } from './sql-guestbook';
import { waitFor } from './wait';

interface StepDone {
  type: 'step-done';
  step: string;
  ms: number;
  detail: string;
  substeps?: Array<{ name: string; ms: number }>;
}

/** One engine's side of the test: its servers are running, the guestbooks started on them. */
export interface DatabaseCutoverCase {
  oldApp: SqlGuestbook;
  newApp: SqlGuestbook;
  /** `--db-source` / `--db-target`, with a password. */
  sourceUrl: string;
  targetUrl: string;
  /** The password in those URLs, which must appear nowhere. */
  secret: string;
  /** What pre-flight's line must say about the replication found. */
  preflightDetail: RegExp;
  /** The ids among `ids` that the target database has. */
  presentOnTarget(ids: string[]): Promise<string[]>;
  /** Asserts that the target is promoted (writable, no longer replicating). */
  assertPromoted(): Promise<void>;
  /** Asserts that a client writing straight to the old database (a worker, a cron job) is refused. */
  assertSourceFenced(): Promise<void>;
}

/** Runs the cutover under load and asserts: no failed request, every acknowledged write on the target, steps and timings reported, no password shown. */
export async function cutoverUnderLoad(t: TestContext, testCase: DatabaseCutoverCase): Promise<void> {
  const { oldApp, newApp } = testCase;
  const redis = await RedisServer.start();
  let fronts: FrontProcess[] = [];
  try {
    await redis.cli.set('switchyard:route:default', oldApp.url);
    fronts = await Promise.all(
      (['koa-front', 'express-front'] as const).map((name) => startExampleFront(name, { SWITCHYARD_REDIS_URL: redis.url })),
    );
    const loads = fronts.map((front) => new LoadGenerator({ target: front.url, rate: 60 }));
    for (const load of loads) load.start();
    await waitFor(() => loads.every((load) => (load.acknowledgedBy().old ?? 0) >= 10), {
      timeoutMs: 20_000,
      what: 'writes on the old server',
    });

    const cutover = await runCli(
      [
        'cutover',
        '--to',
        newApp.url,
        '--db-source',
        testCase.sourceUrl,
        '--db-target',
        testCase.targetUrl,
        '--fence-source',
        '--hold',
        '20000',
        '--json',
        '--yes',
      ],
      { SWITCHYARD_REDIS_URL: redis.url },
      60_000,
    );
    assert.equal(cutover.code, 0, `${cutover.stdout}\n${cutover.stderr}`);

    await waitFor(() => loads.every((load) => (load.acknowledgedBy().new ?? 0) >= 10), {
      timeoutMs: 20_000,
      what: 'writes on the new server',
    });
    const results = await Promise.all(loads.map((load) => load.stop()));
    const acknowledged = results.flatMap((result) => [...result.acknowledged.keys()]);
    const present = new Set(await testCase.presentOnTarget(acknowledged));
    const missing = acknowledged.filter((id) => !present.has(id));
    const failed = results.reduce((sum, result) => sum + result.failed, 0);
    const events = cutover.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; report?: { maintenanceWindowMs: number } } & Partial<StepDone>);
    const steps = events.filter((event): event is StepDone & { report?: undefined } => event.type === 'step-done');
    const database = steps.find((step) => step.step === 'database');
    const drain = steps.find((step) => step.step === 'drain');
    const windowMs = events.at(-1)?.report?.maintenanceWindowMs;
    t.diagnostic(
      `acknowledged ${acknowledged.length} (${JSON.stringify(results.map((result) => countByServer(result.acknowledged)))}), missing ${missing.length}, failed ${failed}, slowest ${Math.max(...results.map((result) => result.slowestMs))} ms`,
    );
    t.diagnostic(
      `maintenance window ${windowMs} ms; drain ${drain?.ms} ms; database ${database?.ms} ms ${JSON.stringify(database?.substeps)}`,
    );

    assert.equal(
      failed,
      0,
      `failed requests: ${JSON.stringify(results.map((result) => result.outcomes))}; app errors: ${[oldApp, newApp].flatMap((app) => app.errors).join('; ')}`,
    );
    assert.deepEqual(missing, [], 'every acknowledged write is in the promoted database');
    assert.deepEqual(
      steps.map((step) => step.step),
      ['preflight', 'maintenance', 'drain', 'database', 'switch', 'verify', 'restore'],
    );
    assert.match(steps[0]?.detail ?? '', testCase.preflightDetail);
    assert.deepEqual(
      database?.substeps?.map((substep) => substep.name),
      ['connect', 'fence', 'catch-up', 'promote'],
    );
    assert.equal(typeof windowMs, 'number');
    await testCase.assertPromoted();
    // The old database is fenced: a worker writing to it directly is refused.
    await testCase.assertSourceFenced();
    // Passwords never printed, journaled or put in the history.
    const secret = new RegExp(testCase.secret);
    assert.doesNotMatch(cutover.stdout + cutover.stderr, secret);
    const history = await redis.cli.xrange('switchyard:history', '-', '+');
    assert.doesNotMatch(JSON.stringify(history), secret);
    for (const front of fronts) assert.equal(front.stderr(), '', 'front ends printed nothing');
  } finally {
    await Promise.all(fronts.map((front) => front.stop()));
    await redis.stop();
  }
}
