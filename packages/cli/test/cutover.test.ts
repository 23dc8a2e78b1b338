import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { HistoryEntry } from '@switchyard/core';
import { runCli } from '../../../test/support/cli';
import { repositoryRoot } from '../../../test/support/typescript-process';
import { writeJournal } from '../src/cutover/journal';
import { type CutoverEvent, readJournal } from '../src/index';
import { runMain } from './helpers/in-process';
import { startTestbed, type Testbed } from './helpers/testbed';

describe('switchyard cutover against real Redis and two front ends', () => {
  let bed: Testbed;

  before(async () => {
    bed = await startTestbed();
  });

  beforeEach(async () => {
    bed.oldApp.status = 200;
    bed.newApp.status = 200;
    const result = await runMain(['route', 'set', bed.oldApp.url, '--force'], { redis: bed.redis.url });
    assert.equal(result.code, 0, result.stderr);
  });

  after(() => bed.close());

  const cutoverHistory = async (cutoverId: string): Promise<HistoryEntry[]> =>
    (await bed.store.history(50)).filter((entry) => entry.cutoverId === cutoverId).reverse();

  test('happy path, as a real process: every step reported as JSON, the site on the new server, maintenance off', async () => {
    const run = await runCli(
      ['cutover', '--to', bed.newApp.url, '--sync', 'echo copying "$SWITCHYARD_FROM"; echo copied', '--hold', '1000', '--json'],
      {
        SWITCHYARD_REDIS_URL: bed.redis.url,
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as CutoverEvent);
    const cutoverId = events[0]?.cutoverId as string;
    assert.ok(events.every((event) => event.cutoverId === cutoverId && event.site === 'default'));
    assert.deepEqual(
      events.filter((event) => event.type === 'step-done').map((event) => event.type === 'step-done' && event.step),
      ['preflight', 'maintenance', 'drain', 'sync', 'switch', 'verify', 'restore'],
    );
    const plan = events.find((event) => event.type === 'plan');
    assert.equal(plan?.type === 'plan' && plan.plan.fronts, 2);
    assert.deepEqual(
      events.filter((event) => event.type === 'output').map((event) => event.type === 'output' && event.line),
      [`copying ${bed.oldApp.url}`, 'copied'],
    );
    const done = events.at(-1);
    assert.equal(done?.type, 'done');
    assert.ok(done?.type === 'done' && typeof done.report.maintenanceWindowMs === 'number' && done.report.maintenanceWindowMs > 0);

    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.newApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await bed.store.getCutover('default'), null);
    assert.equal(bed.local.watcher.route('default')?.target, bed.newApp.url);
    assert.equal(bed.local.watcher.maintenance('default'), undefined);
    const steps = await cutoverHistory(cutoverId);
    assert.deepEqual(
      steps.map((entry) => entry.action),
      ['cutover: maintenance on', 'cutover: switch', 'cutover: maintenance off'],
    );
    assert.deepEqual(JSON.parse(steps[0]?.new as string).mode, 'read-only');
    assert.deepEqual(JSON.parse(steps[0]?.new as string).hold, 1000);
  });

  test('plain output: the plan, one line per step with its duration, the maintenance window in seconds', async () => {
    const run = await runMain(['cutover', '--to', bed.newApp.url, '--full'], { redis: bed.redis.url });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Cutover c-\S+ of default\n {2}from +http:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(
      run.stdout,
      /\n {2}maintenance +on \(all requests\), hold/.source.includes('hold')
        ? /\n {2}maintenance +on \(all requests\) \(before: off\)\n/
        : /x/,
    );
    for (const step of ['preflight', 'maintenance', 'drain', 'switch', 'verify', 'restore']) {
      assert.match(run.stdout, new RegExp(`\\n✔ ${step} +\\d+ ms  `));
    }
    assert.match(run.stdout, /\nmaintenance window: \d+\.\d\d s \(total \d+\.\d\d s\)\n$/);
  });

  test('a failing sync aborts cleanly: maintenance off, route untouched, exit 1 with what failed', async () => {
    const run = await runMain(['cutover', '--to', bed.newApp.url, '--sync', 'echo half-copied; exit 3'], { redis: bed.redis.url });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^switchyard: cutover of default failed at sync: the sync command exited with code 3; route untouched \(http:\/\/127\.0\.0\.1:\d+\), maintenance restored \(off\)\n$/,
    );
    assert.match(run.stdout, /\n {2}sync │ half-copied\n/);
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await bed.store.getCutover('default'), null);
    assert.equal(bed.local.watcher.maintenance('default'), undefined);
  });

  test('a failing verification rolls the route back to the old target, then lifts maintenance', async () => {
    const run = await runMain(['cutover', '--to', bed.newApp.url, '--verify', 'exit 4', '--json'], { redis: bed.redis.url });
    assert.equal(run.code, 1);
    const events = run.jsonLines<CutoverEvent & { error?: { code: string } }>();
    const failed = events.find((event) => event.type === 'failed');
    assert.ok(failed?.type === 'failed');
    assert.equal(failed.step, 'verify');
    assert.equal(failed.cleanup.routeRestored, true);
    assert.equal(failed.cleanup.maintenanceRestored, true);
    assert.equal(failed.cleanup.journalKept, false);
    assert.equal(events.at(-1)?.error?.code, 'SWITCHYARD_ERR_CUTOVER_FAILED');
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(bed.local.watcher.route('default')?.target, bed.oldApp.url);
    const steps = await cutoverHistory(failed.cutoverId);
    assert.deepEqual(
      steps.map((entry) => `${entry.kind} ${entry.action}`),
      ['maintenance cutover: maintenance on', 'route cutover: switch', 'route cutover rollback', 'maintenance cutover rollback'],
    );
  });

  test('the maintenance state from before the cutover is what is restored', async () => {
    const manual = await runMain(['maintenance', 'on', '--site', 'default', '--message', 'planned work'], { redis: bed.redis.url });
    assert.equal(manual.code, 0, manual.stderr);
    const before = await bed.redis.cli.get('switchyard:maintenance:default');
    const run = await runMain(['cutover', '--to', bed.newApp.url], { redis: bed.redis.url });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), before);
    await runMain(['maintenance', 'off'], { redis: bed.redis.url });
  });

  test('maintenance lifted by someone else during the sync: the cutover stops before the switch, route untouched, exit 1', async () => {
    // The sync stands for a copy; meanwhile another operator runs `maintenance off`. Writes then reach
    // the old server after the copy, so switching would lose them.
    const bin = join(repositoryRoot, 'packages', 'cli', 'src', 'bin.ts');
    const lift = `'${process.execPath}' --conditions=switchyard-source --import tsx '${bin}' maintenance off --redis '${bed.redis.url}'`;
    const run = await runMain(['cutover', '--to', bed.newApp.url, '--sync', lift], { redis: bed.redis.url });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /failed at switch: maintenance of default was lifted during the cutover/);
    assert.match(run.stderr, /writes may have reached http:\/\/127\.0\.0\.1:\d+ after the drain/);
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await bed.store.getCutover('default'), null);
  });

  test('maintenance changed by someone else during the sync (still keeping writes out): the switch goes on, their maintenance is left, exit 1', async () => {
    const bin = join(repositoryRoot, 'packages', 'cli', 'src', 'bin.ts');
    const other = `'${process.execPath}' --conditions=switchyard-source --import tsx '${bin}' maintenance on --message 'database upgrade' --redis '${bed.redis.url}'`;
    const run = await runMain(['cutover', '--to', bed.newApp.url, '--sync', other], { redis: bed.redis.url });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stderr,
      /failed at restore: maintenance of default was changed by someone else during the cutover \(now read-only, message "database upgrade"\); the site is on http:\/\/127\.0\.0\.1:\d+, verified, and their maintenance is left for them to lift \(switchyard maintenance off\)/,
    );
    assert.doesNotMatch(run.stderr, /retry/);
    // Verified before the restore step: the new server keeps the site.
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.newApp.url);
    assert.equal(JSON.parse((await bed.redis.cli.get('switchyard:maintenance:default')) as string).message, 'database upgrade');
    assert.equal(await bed.store.getCutover('default'), null);
    await runMain(['maintenance', 'off'], { redis: bed.redis.url });
  });

  test('pre-flight failures change nothing: unhealthy target, unfinished cutover recorded, same target', async () => {
    const historyBefore = await bed.redis.cli.xlen('switchyard:history');
    bed.newApp.status = 500;
    const unhealthy = await runMain(['cutover', '--to', bed.newApp.url], { redis: bed.redis.url });
    assert.equal(unhealthy.code, 1);
    assert.match(unhealthy.stderr, /^switchyard: health check GET http:\/\/127\.0\.0\.1:\d+\/ answered 500; expected 2xx or 3xx\n$/);
    bed.newApp.status = 200;

    const journal = {
      id: 'c-other',
      site: 'default',
      step: 'sync' as const,
      from: bed.oldApp.url,
      to: 'http://127.0.0.1:9',
      previousMaintenance: null,
      maintenance: JSON.stringify({ mode: 'read-only' }),
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      by: 'someone@elsewhere',
      host: 'elsewhere',
      pid: 1,
      steps: { sync: { task: true } },
    };
    await writeJournal(bed.store, 'default', journal);
    const busy = await runMain(['cutover', '--to', bed.newApp.url], { redis: bed.redis.url });
    assert.equal(busy.code, 1);
    assert.match(
      busy.stderr,
      /^switchyard: cutover c-other of default \(to http:\/\/127\.0\.0\.1:9, at step sync, started .+ by someone@elsewhere\) is unfinished; finish it with switchyard cutover --resume or undo it with switchyard cutover --abort\n$/,
    );
    assert.deepEqual(await readJournal(bed.store, 'default'), journal, 'the other journal is left alone');
    await writeJournal(bed.store, 'default', null);

    const same = await runMain(['cutover', '--to', bed.oldApp.url], { redis: bed.redis.url });
    assert.equal(same.code, 1);
    assert.match(same.stderr, /default already routes to http:\/\/127\.0\.0\.1:\d+; nothing to cut over/);
    assert.equal(await bed.redis.cli.xlen('switchyard:history'), historyBefore);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
  });

  test('--dry-run checks and prints the plan, changes nothing', async () => {
    const historyBefore = await bed.redis.cli.xlen('switchyard:history');
    const run = await runMain(['cutover', '--to', bed.newApp.url, '--sync', './copy-db.sh', '--dry-run'], { redis: bed.redis.url });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\n {2}sync +\.\/copy-db\.sh\n/);
    assert.match(run.stdout, /\n {2}steps +preflight → maintenance → drain → sync → switch → verify → restore\n/);
    assert.match(run.stdout, /✔ preflight .+healthy .+2 front end\(s\) converged; Redis writable/);
    assert.match(run.stdout, /dry run: pre-flight checks passed; nothing was changed/);
    assert.equal(await bed.redis.cli.xlen('switchyard:history'), historyBefore);
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
  });
});
