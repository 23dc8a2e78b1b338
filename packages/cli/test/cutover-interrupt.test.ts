import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startCli } from '../../../test/support/cli';
import { waitFor } from '../../../test/support/wait';
import type { CutoverEvent, CutoverJournal } from '../src/index';
import { runMain } from './helpers/in-process';
import { isRunning } from './helpers/process-alive';
import { startTestbed, type Testbed } from './helpers/testbed';

describe('interrupted cutovers', () => {
  let bed: Testbed;
  let dir: string;

  before(async () => {
    bed = await startTestbed();
    dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  });

  beforeEach(async () => {
    await bed.redis.cli.set('switchyard:route:default', bed.oldApp.url);
  });

  after(async () => {
    await bed.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a cutover whose sync prints "copying" and sleeps; resolves with the process and the sync's pid once it copies. */
  async function cutoverStuckInSync(name: string) {
    const pidFile = join(dir, `${name}.pid`);
    const cli = startCli(['cutover', '--to', bed.newApp.url, '--sync', `echo $$ > ${pidFile}; echo copying; sleep 60`], {
      SWITCHYARD_REDIS_URL: bed.redis.url,
    });
    await cli.waitForOutput(/sync │ copying/);
    return { cli, syncPid: Number(readFileSync(pidFile, 'utf8')) };
  }

  /** A process that died without cleaning up (SIGKILL, a crashed host): its sync keeps running until killed. */
  async function killedInSync(name: string): Promise<void> {
    const { cli, syncPid } = await cutoverStuckInSync(name);
    cli.child.kill('SIGKILL');
    await cli.exited;
    process.kill(-syncPid, 'SIGKILL');
    await waitFor(() => !isRunning(syncPid), { what: 'the orphaned sync to die' });
  }

  test('SIGINT mid-sync: the sync is killed, maintenance lifted, route untouched, journal cleared, exit 1', async () => {
    const { cli, syncPid } = await cutoverStuckInSync('sigint');
    assert.ok(isRunning(syncPid));
    assert.ok(await bed.redis.cli.get('switchyard:maintenance:default'), 'in maintenance while syncing');
    cli.child.kill('SIGINT');
    const run = await cli.exited;
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /interrupted: cleaning up/);
    assert.match(
      run.stderr,
      /\nswitchyard: cutover of default interrupted at sync: interrupted by SIGINT; route untouched \(http:\/\/127\.0\.0\.1:\d+\), maintenance restored \(off\)\n$/,
    );
    assert.equal(isRunning(syncPid), false, 'the sync process group was killed');
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await bed.redis.cli.get('switchyard:cutover:default'), null);
  });

  test('a cutover whose process died is shown by status, and --abort undoes it', async () => {
    await killedInSync('abort');
    assert.ok(await bed.redis.cli.get('switchyard:maintenance:default'), 'left in maintenance');

    const status = await runMain(['status'], { redis: bed.redis.url });
    assert.equal(status.code, 0);
    assert.match(
      status.stdout,
      /\n⚠ UNFINISHED CUTOVER c-\S+ of default: at step sync, http:\/\/127\.0\.0\.1:\d+ → http:\/\/127\.0\.0\.1:\d+\n/,
    );
    assert.match(status.stdout, /switchyard cutover --resume \(finish it\) or switchyard cutover --abort \(undo it\)/);
    const { cutovers } = (await runMain(['status', '--json'], { redis: bed.redis.url })).json<{ cutovers: CutoverJournal[] }>();
    assert.equal(cutovers.length, 1);
    assert.equal(cutovers[0]?.step, 'sync');
    assert.equal(cutovers[0]?.from, bed.oldApp.url);
    assert.equal(cutovers[0]?.to, bed.newApp.url);
    assert.equal(cutovers[0]?.previousMaintenance, null);

    const abort = await runMain(['cutover', '--abort'], { redis: bed.redis.url });
    assert.equal(abort.code, 0, abort.stderr);
    assert.match(
      abort.stdout,
      /↩ maintenance restored \(off\)\n.*\ncutover c-\S+ undone: route untouched \(http:\/\/127\.0\.0\.1:\d+\), maintenance restored \(off\)\n$/s,
    );
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await bed.redis.cli.get('switchyard:cutover:default'), null);
    const again = await runMain(['cutover', '--abort'], { redis: bed.redis.url });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /there is no unfinished cutover of default to abort/);
  });

  test('--resume continues a cutover whose process died, given its sync command again', async () => {
    await killedInSync('resume');
    const withoutSync = await runMain(['cutover', '--resume'], { redis: bed.redis.url });
    assert.equal(withoutSync.code, 2);
    assert.match(withoutSync.stderr, /has not finished its sync step; pass the same --sync or --until-ready again/);

    const resume = await runMain(['cutover', '--resume', '--sync', 'echo copying again', '--json'], { redis: bed.redis.url });
    assert.equal(resume.code, 0, resume.stderr);
    const events = resume.jsonLines<CutoverEvent>();
    const plan = events.find((event) => event.type === 'plan');
    assert.ok(plan?.type === 'plan' && plan.plan.resumed);
    assert.deepEqual(
      events.filter((event) => event.type === 'step-done').map((event) => event.type === 'step-done' && event.step),
      ['sync', 'switch', 'verify', 'restore'],
    );
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.newApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await bed.redis.cli.get('switchyard:cutover:default'), null);
    const heartbeat = JSON.parse((await bed.redis.cli.get(`switchyard:front:${bed.remote.id}`)) as string);
    assert.equal(heartbeat.version, Number(await bed.redis.cli.get('switchyard:version')), 'the front end applied the finished cutover');
  });
  test('while the cutover process lives, --resume and --abort from another process refuse and name its pid; nothing changes', async () => {
    const { cli, syncPid } = await cutoverStuckInSync('two-drivers');
    try {
      const journal = JSON.parse((await bed.redis.cli.get('switchyard:cutover:default')) as string) as CutoverJournal;
      for (const args of [['--resume', '--sync', 'true'], ['--abort']]) {
        const other = await runMain(['cutover', ...args, '--json'], { redis: bed.redis.url });
        assert.equal(other.code, 1, `${args.join(' ')}: ${other.stderr}`);
        const error = JSON.parse(other.stdout.trim().split('\n').at(-1) as string).error as { code: string; message: string };
        assert.equal(error.code, 'SWITCHYARD_ERR_CUTOVER_IN_PROGRESS');
        assert.match(error.message, new RegExp(`cutover ${journal.id} of default is still running \\(pid ${journal.pid} on this host\\)`));
      }
      assert.ok(isRunning(syncPid), "the running cutover's sync was left alone");
      assert.ok(await bed.redis.cli.get('switchyard:maintenance:default'), 'still in maintenance');
      assert.equal(JSON.parse((await bed.redis.cli.get('switchyard:cutover:default')) as string).id, journal.id);
    } finally {
      cli.child.kill('SIGINT');
      await cli.exited;
    }
    assert.equal(await bed.redis.cli.get('switchyard:cutover:default'), null, 'its own process cleaned up');
  });

  test('--abort of a cutover that died after switching the route puts the route back, then lifts maintenance, and stops its verify', async () => {
    const pidFile = join(dir, 'verify.pid');
    const cli = startCli(['cutover', '--to', bed.newApp.url, '--verify', `echo $$ > ${pidFile}; echo checking; sleep 60`], {
      SWITCHYARD_REDIS_URL: bed.redis.url,
    });
    await cli.waitForOutput(/verify │ checking/);
    const verifyPid = Number(readFileSync(pidFile, 'utf8'));
    cli.child.kill('SIGKILL');
    await cli.exited;
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.newApp.url, 'died after the switch');
    assert.ok(isRunning(verifyPid), 'its verify outlived it');

    const abort = await runMain(['cutover', '--abort'], { redis: bed.redis.url });
    assert.equal(abort.code, 0, abort.stderr);
    assert.match(abort.stdout, /stopped the verify command left running by pid \d+/);
    assert.match(abort.stdout, /↩ route rolled back to http:\/\/127\.0\.0\.1:\d+\n(?:.*\n)*↩ maintenance restored \(off\)/);
    await waitFor(() => !isRunning(verifyPid), { what: 'the orphaned verify to be stopped' });
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await bed.redis.cli.get('switchyard:cutover:default'), null);
  });
  test('a second Ctrl-C during the clean-up exits at once, leaving the journal; --abort then finishes the undo', async () => {
    const { cli } = await cutoverStuckInSync('second-sigint');
    // A frozen front end holds the clean-up in its wait for the front ends to apply maintenance off.
    bed.remote.child.kill('SIGSTOP');
    try {
      cli.child.kill('SIGINT');
      await waitFor(async () => (await bed.redis.cli.get('switchyard:maintenance:default')) === null, {
        what: 'the clean-up to put maintenance back',
      });
      cli.child.kill('SIGINT');
      const run = await cli.exited;
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /switchyard: SIGINT again, exiting without cleaning up; check with switchyard status\n$/);
      assert.notEqual(await bed.redis.cli.get('switchyard:cutover:default'), null, 'the journal is left for --abort');
    } finally {
      bed.remote.child.kill('SIGCONT');
    }
    const abort = await runMain(['cutover', '--abort'], { redis: bed.redis.url });
    assert.equal(abort.code, 0, abort.stderr);
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:maintenance:default'), null);
    assert.equal(await bed.redis.cli.get('switchyard:cutover:default'), null);
  });
});
