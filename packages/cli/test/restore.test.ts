import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../../test/support/wait';
import { runMain } from './helpers/in-process';
import { startTestbed, type Testbed } from './helpers/testbed';

interface FrontsOutput {
  fronts: { id: string; lostState: boolean; kept?: { version: number; values: Record<string, string> } }[];
}

// Redis killed and restarted empty while two front ends (one in this process, one in its own) keep
// the route and the maintenance they had: the CLI acts on what they apply, not on the empty Redis.
describe('Redis restarted empty while the front ends keep state', () => {
  let bed: Testbed;
  const run = (...args: string[]) => runMain(args, { redis: bed.redis.url });

  before(async () => {
    bed = await startTestbed();
  });

  after(() => bed.close());

  /** Read-only maintenance on, then Redis killed and restarted empty; resolves once both front ends report keeping the state. */
  async function loseState(): Promise<number> {
    assert.equal((await run('route', 'set', bed.oldApp.url, '--force')).code, 0);
    const on = await run('maintenance', 'on', '--read-only', '--message', 'kept', '--json');
    assert.equal(on.code, 0, on.stderr);
    const version = on.json<{ version: number }>().version;
    await bed.redis.kill();
    await bed.redis.restart();
    await waitFor(
      async () => {
        const output = (await run('fronts', '--json')).json<FrontsOutput>();
        return output.fronts.length === 2 && output.fronts.every((front) => front.lostState && front.kept?.version === version);
      },
      { what: 'both front ends to report keeping the lost state', timeoutMs: 15_000 },
    );
    // The test's own store reconnects on its back-off (up to 1 s) and fails fast until then.
    await waitFor(() => bed.store.history(1).then(() => true), { what: "the test's store to reconnect", timeoutMs: 10_000 });
    return version;
  }

  test('status says Redis lost its state and which version the front ends keep, exit 1', async () => {
    const version = await loseState();
    const status = await run('status');
    assert.equal(status.code, 1);
    assert.match(
      status.stdout,
      new RegExp(`\\n⚠ Redis lost its state; front ends keep version ${version} \\([^)]+\\); write it back with switchyard restore\\n`),
    );
    assert.match(status.stdout, /\n {2}kept by the front ends: switchyard:maintenance:default = \{"mode":"read-only"/);
    const json = (await run('status', '--json')).json<{ problems: { kind: string }[] }>();
    assert.deepEqual(
      json.problems.map((problem) => problem.kind),
      ['lost-state'],
    );
  });

  test('maintenance off really ends the maintenance the front ends keep (the kept state is written back first)', async () => {
    await loseState();
    const off = await run('maintenance', 'off', '--json');
    assert.equal(off.code, 0, off.stderr);
    assert.equal(off.json<{ outcome: string }>().outcome, 'off');
    assert.match(off.stderr, /Redis had lost its state: wrote back version \d+ kept by /);
    assert.equal(bed.local.watcher.maintenance('default'), undefined, 'maintenance ended on the front end');
    assert.equal(bed.local.watcher.route('default')?.target, bed.oldApp.url, 'the kept route stays');
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url, 'and is in Redis again');
    assert.equal((await run('status')).code, 0);
    const actions = (await bed.store.history(3)).map((entry) => `${entry.kind} ${entry.action}`);
    assert.deepEqual(actions.slice(0, 1), ['maintenance maintenance off']);
    assert.ok(actions.includes('route restore'), actions.join(', '));
  });

  test('a write command never writes the kept state over a report it cannot renew: a frozen front end stops it, nothing written', async () => {
    await loseState();
    // The process front end is frozen: its last report (keeping the lost state) stays in Redis until
    // its heartbeat expires, as a report written just before a front end followed a state would.
    bed.remote.child.kill('SIGSTOP');
    try {
      await bed.redis.cli.set('switchyard:route:default', bed.newApp.url);
      await waitFor(() => bed.local.watcher.route('default')?.target === bed.newApp.url && !bed.local.watcher.lostState, {
        what: 'the front end in this process to follow the SET',
      });
      const on = await run('maintenance', 'on', '--read-only', '--json');
      assert.equal(on.code, 1, on.stderr);
      assert.equal(on.json<{ error: { code: string } }>().error.code, 'SWITCHYARD_ERR_KEPT_STATE_UNCONFIRMED');
      assert.match(
        on.stderr,
        new RegExp(`Redis lost its state and ${bed.remote.id} \\(.*\\) kept it but has not reported again in 2\\.5 s.*nothing written`),
      );
      assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.newApp.url, "the operator's SET is not written over");
      assert.equal(await bed.redis.cli.exists('switchyard:maintenance:default'), 0, 'nothing written');
    } finally {
      bed.remote.child.kill('SIGCONT');
    }
    // Running again, the front end follows the SET too, and the command acts on it.
    await waitFor(async () => (await run('fronts', '--json')).json<FrontsOutput>().fronts.every((front) => !front.lostState), {
      what: 'both front ends to follow the SET',
      timeoutMs: 15_000,
    });
    const on = await run('maintenance', 'on', '--read-only', '--json');
    assert.equal(on.code, 0, on.stderr);
    assert.doesNotMatch(on.stderr, /Redis had lost its state/);
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.newApp.url);
    assert.equal((await run('maintenance', 'off')).code, 0);
  });

  test('maintenance on --read-only does not drop the kept route', async () => {
    await loseState();
    const on = await run('maintenance', 'on', '--read-only', '--hold', '2s', '--json');
    assert.equal(on.code, 0, on.stderr);
    const output = on.json<{ outcome: string; maintenance: { message?: string; hold?: number } }>();
    assert.equal(output.outcome, 'updated', 'it updates the kept maintenance');
    assert.equal(output.maintenance.message, 'kept', 'and keeps its options');
    assert.equal(bed.local.watcher.route('default')?.target, bed.oldApp.url);
    assert.equal(bed.local.watcher.maintenance('default')?.hold, 2000);
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    assert.equal((await run('maintenance', 'off')).code, 0);
  });

  test('switchyard restore writes the kept state back; the front ends follow Redis again', async () => {
    const version = await loseState();
    const restore = await run('restore', '--json');
    assert.equal(restore.code, 0, restore.stderr);
    const output = restore.json<{
      restored: boolean;
      keptVersion: number;
      version: number;
      fronts: string[];
      values: Record<string, string>;
    }>();
    assert.equal(output.restored, true);
    assert.equal(output.keptVersion, version);
    assert.ok(output.version > version, 'above the kept version');
    assert.deepEqual(output.fronts.sort(), [bed.local.id, bed.remote.id].sort());
    assert.equal(output.values['switchyard:route:default'], bed.oldApp.url);
    assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    assert.match((await bed.redis.cli.get('switchyard:maintenance:default')) ?? '', /"mode":"read-only"/);
    const fronts = (await run('fronts', '--json')).json<FrontsOutput>();
    assert.ok(fronts.fronts.every((front) => !front.lostState));
    assert.equal((await run('status')).code, 0);
    const again = await run('restore');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^nothing to restore/);
    assert.equal((await run('maintenance', 'off')).code, 0);
  });

  test('front ends keeping different states: restore and write commands refuse naming them; --from chooses', async () => {
    const version = await loseState();
    const other = {
      ...bed.local.report(),
      id: 'other-front',
      lostState: true,
      kept: { version: version - 1, values: { 'switchyard:route:default': bed.newApp.url } },
    };
    // A live front end reports every heartbeat; write commands only count reports made while they run.
    const beat = () => bed.store.putFront({ ...other, updatedAt: new Date().toISOString() }, 10_000);
    let beating = beat();
    await beating;
    const heartbeat = setInterval(() => {
      beating = beat().catch(() => undefined);
    }, 200);
    try {
      const restore = await run('restore');
      assert.equal(restore.code, 1);
      assert.match(
        restore.stderr,
        /^switchyard: the front ends keep different states: .*keep version \d+ .*; other-front \(\S+, pid \d+\) keep version \d+ \(switchyard:route:default = http:\/\/127\.0\.0\.1:\d+\); choose one with switchyard restore --from <front id>\n$/,
      );
      const off = await run('maintenance', 'off');
      assert.equal(off.code, 1);
      assert.match(
        off.stderr,
        /^switchyard: Redis lost its state and the front ends keep different states: .*switchyard restore --from <front id>.*, then run this command again\n$/,
      );
      assert.equal(await bed.redis.cli.exists('switchyard:maintenance:default', 'switchyard:route:default'), 0, 'nothing written');
      assert.equal((await run('restore', '--from', 'nobody')).code, 2);
      // Two operators choosing differently: the first restore wins, the second is refused, nothing overwritten.
      const chosen = await run('restore', '--from', bed.remote.id, '--no-wait', '--json');
      assert.equal(chosen.code, 0, chosen.stderr);
      assert.equal(chosen.json<{ keptVersion: number }>().keptVersion, version);
      const second = await run('restore', '--from', 'other-front', '--no-wait');
      assert.equal(second.code, 1);
      assert.match(
        second.stderr,
        /^switchyard: Redis holds version \d+ now, not the lost state: someone restored or wrote another state meanwhile; nothing restored/,
      );
      assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url, 'the first restore stands');
    } finally {
      clearInterval(heartbeat);
      // A beat in flight would put the report back after its removal.
      await beating;
      await bed.store.removeFront('other-front');
    }
    assert.equal((await run('maintenance', 'off')).code, 0);
  });

  test('front ends keeping the same values under different versions agree: restore writes them back above the newest', async () => {
    const version = await loseState();
    const kept = bed.local.report().kept;
    assert.ok(kept, 'the local front end keeps the lost state');
    // One front end may have read a version bump the other missed before Redis lost it: same values, older version.
    await bed.store.putFront(
      { ...bed.local.report(), id: 'same-values-front', lostState: true, kept: { ...kept, version: version - 1 } },
      10_000,
    );
    try {
      const restore = await run('restore', '--no-wait', '--json');
      assert.equal(restore.code, 0, restore.stderr);
      assert.equal(restore.json<{ keptVersion: number }>().keptVersion, version);
      assert.equal(await bed.redis.cli.get('switchyard:route:default'), bed.oldApp.url);
    } finally {
      await bed.store.removeFront('same-values-front');
    }
    assert.equal((await run('maintenance', 'off')).code, 0);
  });
});
