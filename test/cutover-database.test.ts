// The database-aware cutover end to end: two real front-end processes under read/write load, a real
// Redis, two guestbook app servers on PostgreSQL — the old one on the primary, the new one on its
// streaming standby — and `switchyard cutover --db-source … --db-target … --fence-source` as a real
// process. Held writes mean no request fails; drain, fence and catch-up before the promotion mean
// no acknowledged write is lost; the window is measured.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countByServer, LoadGenerator } from '../examples/migration-demo/src/load-generator';
import { runCli } from './support/cli';
import { type FrontProcess, startExampleFront } from './support/front-process';
import { GUESTBOOK_SCHEMA, type PostgresGuestbook, startPostgresGuestbook } from './support/postgres-guestbook';
import { PostgresServer, postgresMissing } from './support/postgres-server';
import { RedisServer } from './support/redis-server';
import { waitFor } from './support/wait';

interface StepDone {
  type: 'step-done';
  step: string;
  ms: number;
  detail: string;
  substeps?: Array<{ name: string; ms: number }>;
}

test('cutover with PostgreSQL streaming replication under write load: no failed request, no lost write', {
  skip: postgresMissing,
}, async (t) => {
  const redis = await RedisServer.start();
  const primary = await PostgresServer.primary();
  await primary.query(GUESTBOOK_SCHEMA);
  const standby = await primary.standby();
  const apps: PostgresGuestbook[] = [];
  let fronts: FrontProcess[] = [];
  try {
    const oldApp = await startPostgresGuestbook({ name: 'old', databaseUrl: primary.url() });
    apps.push(oldApp);
    const newApp = await startPostgresGuestbook({ name: 'new', databaseUrl: standby.url() });
    apps.push(newApp);
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
        primary.url('postgres', 'hunter2'),
        '--db-target',
        standby.url('postgres', 'hunter2'),
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
    const present = await standby.query<{ id: string }>('SELECT id FROM notes WHERE id = ANY($1)', [acknowledged]);
    const missing = acknowledged.filter((id) => !present.some((row) => row.id === id));
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
      `failed requests: ${JSON.stringify(results.map((result) => result.outcomes))}; app errors: ${apps.flatMap((app) => app.errors).join('; ')}`,
    );
    assert.deepEqual(missing, [], 'every acknowledged write is in the promoted database');
    assert.deepEqual(
      steps.map((step) => step.step),
      ['preflight', 'maintenance', 'drain', 'database', 'switch', 'verify', 'restore'],
    );
    assert.match(steps[0]?.detail ?? '', /database postgres-streaming: .*system identifier/);
    assert.deepEqual(
      database?.substeps?.map((substep) => substep.name),
      ['connect', 'fence', 'catch-up', 'promote'],
    );
    assert.equal(typeof windowMs, 'number');
    const [{ recovery }] = (await standby.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery')) as [
      { recovery: boolean },
    ];
    assert.equal(recovery, false, 'the standby was promoted');
    // The old database is fenced: a worker writing to it directly is refused.
    await assert.rejects(primary.query("INSERT INTO notes (id, text) VALUES ('late', 'a cron job')"), /read-only transaction/);
    // Passwords never printed, journaled or put in the history.
    assert.doesNotMatch(cutover.stdout + cutover.stderr, /hunter2/);
    const history = await redis.cli.xrange('switchyard:history', '-', '+');
    assert.doesNotMatch(JSON.stringify(history), /hunter2/);
    for (const front of fronts) assert.equal(front.stderr(), '', 'front ends printed nothing');
  } finally {
    await Promise.all(fronts.map((front) => front.stop()));
    await Promise.all(apps.map((app) => app.close()));
    await Promise.all([primary.stop(), standby.stop(), redis.stop()]);
  }
});
