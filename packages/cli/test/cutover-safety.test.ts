// What a cutover must not leak or leave behind, with real processes: the Redis password never
// reaches the user's commands; a sync orphaned by a killed CLI is stopped by --resume and --abort
// before anything else happens; a rollback refused by the history exits 1, not 2 (usage).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createStore, readValue, type Store, setMaintenance, setRoute, silentLogger } from '@switchyard/core';
import { Redis } from 'ioredis';
import { runCli, startCli } from '../../../test/support/cli';
import { RedisServer } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait';
import type { CutoverEvent } from '../src/index';
import { runMain } from './helpers/in-process';
import { isRunning } from './helpers/process-alive';

const PASSWORD = 'hunter2-redis-secret';
const OLD = 'http://127.0.0.1:9';
const NEW = 'http://127.0.0.1:10';

describe('cutover safety: secrets, orphaned commands, rollback refusals', () => {
  let redis: RedisServer;
  let url: string;
  let store: Store;
  let raw: Redis;
  let dir: string;
  const orphans: number[] = [];

  before(async () => {
    redis = await RedisServer.start(['--requirepass', PASSWORD]);
    url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    store = createStore(url, { logger: silentLogger });
    raw = new Redis(url);
    dir = mkdtempSync(join(tmpdir(), 'switchyard-safety-'));
  });

  beforeEach(async () => {
    await store.putCutover('default', null);
    await setMaintenance(store, 'default', null);
    await setRoute(store, 'default', OLD);
  });

  after(async () => {
    for (const pid of orphans) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
    raw.disconnect();
    await store.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('--sync, --until-ready and --verify do not inherit SWITCHYARD_REDIS_URL (its password) or any SWITCHYARD_* setting', async () => {
    const dump = (name: string) => `env > ${join(dir, `${name}.env`)}`;
    const run = await runCli(
      ['cutover', '--to', NEW, '--force', '--sync', dump('sync'), '--until-ready', dump('ready'), '--verify', dump('verify')],
      { SWITCHYARD_REDIS_URL: url, SWITCHYARD_LOG_LEVEL: 'warn', MY_OWN_VARIABLE: 'passes' },
    );
    assert.equal(run.code, 0, run.stderr);
    for (const name of ['sync', 'ready', 'verify']) {
      const env = readFileSync(join(dir, `${name}.env`), 'utf8');
      assert.ok(!env.includes(PASSWORD), `${name}: the Redis password is not in the environment`);
      assert.doesNotMatch(env, /^SWITCHYARD_(REDIS_URL|LOG_LEVEL)=/m, `${name}: no Switchyard setting`);
      assert.match(env, new RegExp(`^SWITCHYARD_TO=${NEW}$`, 'm'), `${name}: the cutover's own variables are there`);
      assert.match(env, /^MY_OWN_VARIABLE=passes$/m, `${name}: the user's own variables pass through`);
    }
    assert.equal(await readValue(store, 'route', 'default'), NEW);
  });

  /** A cutover whose CLI was SIGKILLed while its sync ran: resolves with the sync's pid, which is still running. */
  async function orphanedSync(name: string): Promise<number> {
    const pidFile = join(dir, `${name}.pid`);
    const cli = startCli(['cutover', '--to', NEW, '--force', '--sync', `echo $$ > ${pidFile}; echo copying; sleep 60`], {
      SWITCHYARD_REDIS_URL: url,
    });
    await cli.waitForOutput(/sync │ copying/);
    const syncPid = Number(readFileSync(pidFile, 'utf8'));
    orphans.push(syncPid);
    // The journal names the group before the command can print anything worth waiting for.
    await waitFor(async () => (await store.getCutover('default'))?.includes(`"pgid":${syncPid}`), { what: 'the journaled pgid' });
    cli.child.kill('SIGKILL');
    await cli.exited;
    assert.ok(isRunning(syncPid), 'the sync outlives the killed CLI (its own process group)');
    return syncPid;
  }

  test('--resume first stops the sync the killed CLI left running, then runs its own', async () => {
    const orphan = await orphanedSync('resume');
    const resume = await runMain(['cutover', '--resume', '--force', '--sync', 'echo copying again', '--json'], { redis: url });
    assert.equal(resume.code, 0, resume.stderr);
    assert.equal(isRunning(orphan), false, 'the orphaned sync is gone');
    const events = resume.jsonLines<CutoverEvent>();
    const stopped = events.findIndex((event) => event.type === 'cleanup' && event.action === 'sync' && event.ok);
    const ownSync = events.findIndex((event) => event.type === 'output' && event.line === 'copying again');
    assert.ok(stopped >= 0 && stopped < ownSync, 'stopped before the new sync started');
    assert.equal(await readValue(store, 'route', 'default'), NEW);
    assert.equal(await store.getCutover('default'), null);
  });

  test('--abort stops the orphaned sync before it puts the site back', async () => {
    const orphan = await orphanedSync('abort');
    const abort = await runMain(['cutover', '--abort'], { redis: url });
    assert.equal(abort.code, 0, abort.stderr);
    assert.match(abort.stdout, /↩ stopped the sync command left running by pid \d+ \(process group \d+\)\n/);
    assert.equal(isRunning(orphan), false, 'the orphaned sync is gone');
    assert.equal(await readValue(store, 'route', 'default'), OLD);
    assert.equal(await readValue(store, 'maintenance', 'default'), null);
  });

  test('a rollback refused because the value before the change is malformed exits 1 (not usage), nothing written', async () => {
    await raw.set('switchyard:route:default', 'not a url');
    const set = await runMain(['route', 'set', NEW, '--force', '--no-wait'], { redis: url });
    assert.equal(set.code, 0, set.stderr);
    const historyBefore = await raw.xlen('switchyard:history');
    const rollback = await runMain(['rollback', '--json'], { redis: url });
    assert.equal(rollback.code, 1, rollback.stderr);
    assert.equal(JSON.parse(rollback.stdout.trim().split('\n').at(-1) as string).error.code, 'SWITCHYARD_ERR_CONFLICT');
    assert.equal(await readValue(store, 'route', 'default'), NEW);
    assert.equal(await raw.xlen('switchyard:history'), historyBefore);
  });
});
