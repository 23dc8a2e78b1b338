import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createStore, readState, silentLogger } from '@switchyard/core';
import type { DemoSummary } from '../examples/migration-demo/src/demo-summary';
import { ACCOUNTS, mariadbMissing } from './support/mariadb-server';
import { postgresMissing } from './support/postgres-server';
import { RedisServer } from './support/redis-server';
import { type ProcessExit, repositoryRoot, startTypeScriptProcess } from './support/typescript-process';

const demo = join(repositoryRoot, 'examples', 'migration-demo', 'src', 'demo.ts');

interface DemoRun extends ProcessExit {
  /** The `--json` line the demo prints last. */
  readonly summary: DemoSummary;
}

/** Runs `npm run demo -- <args>` as the root script does, as a child process, and parses its JSON summary. */
async function runDemo(args: readonly string[], env: Record<string, string | undefined>, timeoutMs = 45_000): Promise<DemoRun> {
  const run = await startTypeScriptProcess(demo, [...args, '--json'], {
    env: { SWITCHYARD_REDIS_URL: undefined, SWITCHYARD_LOG_LEVEL: 'warn', ...env },
    killAfterMs: timeoutMs,
    name: 'the demo',
  }).exited;
  const last = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ...run, summary: JSON.parse(last) as DemoSummary };
  } catch {
    throw new Error(`no JSON summary line (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** The bar every run must meet: the cutover worked, and every acknowledged write, from either server, is in new.db. */
/** What every database demo must show: exit 0, the cutover done, writes on both servers, none lost, none failed. */
function assertDatabaseDemo(run: DemoRun): DemoRun {
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const { summary } = run;
  assert.equal(summary.cutover.ok, true, `${summary.cutover.error}\n${run.stdout}${run.stderr}`);
  assert.equal(summary.writes.lost, 0, `lost writes: ${summary.writes.lostIds.join(', ')}`);
  assert.ok((summary.writes.byServer.old ?? 0) > 0 && (summary.writes.byServer.new ?? 0) > 0, JSON.stringify(summary.writes.byServer));
  assert.equal(summary.requests.failed, 0, JSON.stringify(summary.requests.outcomes));
  return run;
}

function assertNoWriteLost(run: DemoRun): void {
  const { summary } = run;
  assert.equal(summary.cutover.ok, true, `cutover failed: ${summary.cutover.error}\n${run.stdout}${run.stderr}`);
  assert.equal(summary.writes.lost, 0, `lost writes: ${summary.writes.lostIds.join(', ')}`);
  assert.ok(summary.writes.acknowledged > 0);
  assert.equal(summary.writes.present, summary.writes.acknowledged);
  assert.ok((summary.writes.byServer.old ?? 0) > 0, 'some writes were acknowledged by the old server, before the switch');
  assert.ok((summary.writes.byServer.new ?? 0) > 0, 'some writes were acknowledged by the new server, after the switch');
  assert.equal((summary.writes.byServer.old ?? 0) + (summary.writes.byServer.new ?? 0), summary.writes.acknowledged);
  assert.deepEqual(
    summary.cutover.steps.map((step) => step.step),
    ['preflight', 'maintenance', 'drain', 'sync', 'switch', 'verify', 'restore'],
  );
  assert.ok(summary.cutover.windowMs !== undefined && summary.cutover.windowMs > 0);
}

describe('migration demo, in process (memory://)', () => {
  test('--short: writes held through the window; none lost, none failed, exit 0', async () => {
    const run = await runDemo(['--short'], {});
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.summary.mode, 'memory');
    assert.equal(run.summary.ok, true);
    assertNoWriteLost(run);
    assert.equal(run.summary.requests.failed, 0, JSON.stringify(run.summary.requests.outcomes));
    assert.ok(run.summary.requests.reads > 0 && run.summary.requests.writes > 0);
    assert.match(run.stdout, /PASS: 0 of \d+ acknowledged writes lost, 0 failed requests/);
  });

  test('--no-hold: writes arriving in the window are refused with 503, none acknowledged is lost, exit 0', async () => {
    // Enough writes per second that some surely land in a window of a few tens of ms.
    const run = await runDemo(['--short', '--no-hold', '--rate', '400'], {});
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.summary.holdMs, 0);
    assertNoWriteLost(run);
    assert.ok((run.summary.requests.outcomes['503'] ?? 0) > 0, JSON.stringify(run.summary.requests.outcomes));
    assert.equal(run.summary.requests.failed, run.summary.requests.outcomes['503']);
  });
});

describe('migration demo with SWITCHYARD_DEMO_DB=postgres', { skip: postgresMissing }, () => {
  test('--short: a primary and its standby moved by the database step; none lost, none failed, window and catch-up printed', async () => {
    const run = await runDemo(['--short'], { SWITCHYARD_DEMO_DB: 'postgres' }, 90_000);
    const { summary } = assertDatabaseDemo(run);
    assert.deepEqual(
      summary.cutover.steps.map((step) => step.step),
      ['preflight', 'maintenance', 'drain', 'database', 'switch', 'verify', 'restore'],
    );
    assert.equal(typeof summary.cutover.catchUpMs, 'number');
    assert.match(run.stdout, /maintenance window \d+ ms, database catch-up \d+ ms/);
    assert.match(run.stdout, /Proof: read the promoted standby directly: (\d+) of \1 acknowledged writes present, 0 lost/);
  });
});

describe('migration demo with SWITCHYARD_DEMO_DB=mysql', { skip: mariadbMissing() }, () => {
  test('--short, against Redis: a MariaDB source and its GTID replica moved by the CLI; none lost, none failed, no password printed', async () => {
    const redis = await RedisServer.start();
    try {
      const run = await runDemo(['--short'], { SWITCHYARD_DEMO_DB: 'mysql', SWITCHYARD_REDIS_URL: redis.url }, 90_000);
      const { summary } = assertDatabaseDemo(run);
      assert.equal(typeof summary.cutover.catchUpMs, 'number');
      assert.match(run.stdout, /switchyard cutover .*--db-source '?mysql:\/\/switchyard:\*\*\*@127\.0\.0\.1:\d+\//);
      assert.match(run.stdout, /database mysql-gtid/);
      assert.match(run.stdout, /Proof: read the promoted replica directly: (\d+) of \1 acknowledged writes present, 0 lost/);
      assert.doesNotMatch(run.stdout + run.stderr, new RegExp(ACCOUNTS.admin.password));
    } finally {
      await redis.stop();
    }
  });
});

describe('migration demo against Redis, cutover by the CLI', () => {
  let redis: RedisServer;

  before(async () => {
    redis = await RedisServer.start();
  });

  after(async () => {
    await redis.stop();
  });

  test('--short: the CLI moves the site with no write lost or failed, then the demo removes its site', async () => {
    const run = await runDemo(['--short'], { SWITCHYARD_REDIS_URL: redis.url });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.summary.mode, 'redis');
    assertNoWriteLost(run);
    assert.equal(run.summary.requests.failed, 0, JSON.stringify(run.summary.requests.outcomes));
    assert.match(run.stdout, /switchyard cutover --site guestbook-\w+ --to http:\/\/127\.0\.0\.1:\d+ --sync /);

    const store = createStore(redis.url, { logger: silentLogger });
    try {
      const steps = (await store.history(100)).filter((entry) => entry.site === run.summary.site && entry.cutoverId).reverse();
      assert.deepEqual(
        steps.map((entry) => entry.action),
        ['cutover: maintenance on', 'cutover: switch', 'cutover: maintenance off'],
      );
      assert.equal(new Set(steps.map((entry) => entry.cutoverId)).size, 1, 'the steps carry one cutover id');
      const state = await readState(store);
      assert.equal(
        state.sites.find((site) => site.site === run.summary.site),
        undefined,
        'the demo site is removed at the end',
      );
    } finally {
      await store.close();
    }
  });
});
