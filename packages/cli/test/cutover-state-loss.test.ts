// A cutover while Redis is killed and restarted empty (no persistence): the front ends keep the
// cutover's maintenance (they must not drop state Redis lost), so the clean-up must act on what
// they apply — write their kept state back (compare-and-set), then undo — instead of finding an
// empty Redis "as before" and leaving every front refusing writes. A cutover whose journal was
// lost with Redis says what to run.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FrontEnd, FrontEndReport } from '@switchyard/core';
import { startCli } from '../../../test/support/cli';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import type { CutoverEvent } from '../src/index';
import { type AppServer, startAppServer } from './helpers/app-server';
import { type FrontEndProcess, startFrontEnd, startFrontEndProcess } from './helpers/front-ends';
import { runMain } from './helpers/in-process';

describe('cutover with Redis restarted empty in the middle', () => {
  let redis: RedisServer;
  let oldApp: AppServer;
  let newApp: AppServer;
  let local: FrontEnd;
  let remote: FrontEndProcess;
  let dir: string;

  before(async () => {
    redis = await RedisServer.start();
    [oldApp, newApp] = await Promise.all([startAppServer('old'), startAppServer('new')]);
    dir = mkdtempSync(join(tmpdir(), 'switchyard-state-loss-'));
  });

  after(async () => {
    await Promise.all([local?.close(), remote?.stop()]);
    await Promise.all([oldApp.close(), newApp.close()]);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const heartbeats = async (): Promise<FrontEndReport[]> => {
    const keys = await redis.cli.keys('switchyard:front:*');
    const values = await Promise.all(keys.map((key) => redis.cli.get(key)));
    return values.filter((value): value is string => value !== null).map((value) => JSON.parse(value) as FrontEndReport);
  };
  const bothKeepLostState = async () => {
    const reports = await heartbeats();
    return reports.length === 2 && reports.every((report) => (report as { lostState?: boolean }).lostState === true);
  };

  /** Starts fresh front ends on a fresh state, then a cutover whose sync waits for `go`; resolves once it syncs. */
  async function cutoverWaitingInSync(name: string, extra: readonly string[] = []) {
    await redis.cli.flushall();
    await redis.cli.set('switchyard:route:default', oldApp.url);
    await Promise.all([local?.close(), remote?.stop()]);
    [local, remote] = await Promise.all([startFrontEnd(redis.url), startFrontEndProcess(redis.url)]);
    const go = join(dir, `${name}.go`);
    // Also ends once the test's directory is gone: a test that killed the CLI (orphaning this sync)
    // may end before the loop sees `go`, and it must not outlive the run.
    const sync = `echo copying; while [ ! -f ${go} ] && [ -d ${dir} ]; do sleep 0.05; done`;
    const cli = startCli(['cutover', '--to', newApp.url, '--sync', sync, ...extra, '--json'], {
      SWITCHYARD_REDIS_URL: redis.url,
    });
    await cli.waitForOutput(/"line":"copying"/);
    assert.equal(local.watcher.maintenance('default')?.mode, 'read-only', 'in maintenance while syncing');
    return { cli, go };
  }

  async function restartEmpty(): Promise<void> {
    await redis.kill();
    await redis.restart();
    await waitFor(bothKeepLostState, { timeoutMs: 10_000, what: 'both front ends to report the state Redis lost' });
  }

  test('the clean-up writes back what the front ends keep, then undoes the cutover: they accept writes again', async () => {
    const { cli, go } = await cutoverWaitingInSync('clean-up');
    await restartEmpty();
    // The front ends still refuse writes: they keep the cutover's maintenance.
    assert.equal(local.watcher.maintenance('default')?.mode, 'read-only');
    writeFileSync(go, '');
    const run = await cli.exited;
    assert.equal(run.code, 1, run.stderr);
    const failed = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as CutoverEvent)
      .find((event) => event.type === 'failed');
    assert.ok(failed?.type === 'failed');
    assert.equal(failed.cleanup.maintenanceRestored, true);
    assert.equal(failed.cleanup.journalKept, false);
    assert.match(
      failed.cleanup.summary,
      /^state the front ends kept written back \(version \d+\), route untouched \(.+\), maintenance restored \(off\)$/,
    );
    // What the front ends apply, not only what Redis holds.
    await waitFor(() => local.watcher.maintenance('default') === undefined, { what: 'the local front end to lift maintenance' });
    assert.equal(local.watcher.route('default')?.target, oldApp.url);
    await waitFor(
      async () => !(await bothKeepLostState()) && (await heartbeats()).every((report) => report.digest === local.watcher.digest),
      {
        what: 'both front ends to follow Redis again',
      },
    );
    assert.equal(await redis.cli.get('switchyard:route:default'), oldApp.url);
    assert.equal(await redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await redis.cli.get('switchyard:cutover:default'), null);
  });

  test('Redis gone for good: the clean-up waits a bounded time, changes nothing, exits 1 saying to run --abort', async () => {
    const { cli, go } = await cutoverWaitingInSync('gone', ['--timeout', '1s']);
    await redis.kill();
    writeFileSync(go, '');
    const run = await cli.exited;
    await redis.restart();
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /switchyard: cutover of default failed at switch: .+; route left as it is, maintenance left as it is; clean-up incomplete: fix it, then run switchyard cutover --abort --site default\n$/,
    );
    // Maintenance stays in force at the front ends: lifting it blind could let writes reach the wrong server.
    assert.equal(local.watcher.maintenance('default')?.mode, 'read-only');
  });

  test('a cutover started while Redis has lost the state the front ends apply refuses in pre-flight (not after a convergence timeout), changing nothing', async () => {
    const { cli, go } = await cutoverWaitingInSync('refused');
    cli.child.kill('SIGKILL');
    await cli.exited;
    await restartEmpty();
    writeFileSync(go, '');
    const run = await runMain(['cutover', '--to', newApp.url, '--json'], { redis: redis.url });
    assert.equal(run.code, 1);
    const error = JSON.parse(run.stdout.trim().split('\n').at(-1) as string).error as { code: string; message: string };
    assert.equal(error.code, 'SWITCHYARD_ERR_CUTOVER_FAILED');
    assert.match(error.message, /^Redis lost its state; front ends keep version \d+ .+ switchyard restore, then run the cutover again$/);
    const keys = (await redis.cli.keys('switchyard:*')).sort();
    assert.deepEqual(keys, (await redis.cli.keys('switchyard:front:*')).sort(), 'nothing but heartbeats written');
  });

  test('--abort of a cutover whose journal Redis lost says exactly what to run', async () => {
    const { cli, go } = await cutoverWaitingInSync('abort');
    cli.child.kill('SIGKILL');
    await cli.exited;
    await restartEmpty();
    writeFileSync(go, '');
    const abort = await runMain(['cutover', '--abort', '--json'], { redis: redis.url });
    assert.equal(abort.code, 1);
    const error = JSON.parse(abort.stdout.trim().split('\n').at(-1) as string).error as { code: string; message: string };
    assert.equal(error.code, 'SWITCHYARD_ERR_CUTOVER_FAILED');
    assert.match(error.message, /Redis lost its state, and with it the journal of the cutover of default/);
    assert.match(error.message, /run switchyard restore, then switchyard maintenance off/);
    // The journal that said whether a database was fenced is gone: the message says what to check first.
    assert.match(
      error.message,
      /before maintenance off, lift the old database's fence if the target was not promoted \(PostgreSQL: ALTER SYSTEM RESET/,
    );
  });
});
