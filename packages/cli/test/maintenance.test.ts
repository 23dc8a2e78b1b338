import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FrontEnd, MaintenanceState } from '@switchyard/core';
import { hashSecret } from '@switchyard/maintenance';
import { RedisServer } from '../../../test/support/redis-server';
import { startFrontEnd } from './helpers/front-ends';
import { runMain } from './helpers/in-process';

interface MaintenanceOutput {
  site: string;
  outcome: 'on' | 'updated' | 'unchanged' | 'off';
  maintenance: MaintenanceState;
  version: number;
  convergence: { waited: boolean; fronts: number };
}

describe('maintenance commands against real Redis', () => {
  let redis: RedisServer;
  let frontEnd: FrontEnd;

  before(async () => {
    redis = await RedisServer.start();
    frontEnd = await startFrontEnd(redis.url);
  });

  after(async () => {
    await frontEnd.close();
    await redis.stop();
  });

  const run = (...args: string[]) => runMain(args, { redis: redis.url });

  test('on: applied by the front end before the command returns; the secret is stored only as hashSecret() of it', async () => {
    const result = await run(
      'maintenance',
      'on',
      '--site',
      'shop',
      '--read-only',
      '--message',
      'Moving house',
      '--retry-after',
      '2m',
      '--hold',
      '2s',
      '--allow-ip',
      '10.0.0.0/8',
      '--allow-path',
      '/healthz',
      '--secret',
      'open-sesame-42',
      '--json',
    );
    assert.equal(result.code, 0, result.stderr);
    const output = result.json<MaintenanceOutput>();
    assert.equal(output.outcome, 'on');
    assert.equal(output.convergence.fronts, 1);
    assert.deepEqual(frontEnd.watcher.maintenance('shop'), output.maintenance);
    assert.equal(output.maintenance.mode, 'read-only');
    assert.equal(output.maintenance.retryAfter, 120);
    assert.equal(output.maintenance.hold, 2000);
    assert.deepEqual(output.maintenance.allowIps, ['10.0.0.0/8']);
    const stored = (await redis.cli.get('switchyard:maintenance:shop')) as string;
    assert.doesNotMatch(stored, /open-sesame/);
    assert.equal(JSON.parse(stored).secretHash, hashSecret('open-sesame-42'));
  });

  test('on again with the same options: unchanged, nothing written', async () => {
    const before = await redis.cli.xlen('switchyard:history');
    const result = await run(
      'maintenance',
      'on',
      '--site',
      'shop',
      '--read-only',
      '--message',
      'Moving house',
      '--retry-after',
      '120',
      '--hold',
      '2000',
      '--allow-ip',
      '10.0.0.0/8',
      '--allow-path',
      '/healthz',
      '--secret',
      'open-sesame-42',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^maintenance unchanged for shop: read-only/);
    assert.equal(await redis.cli.xlen('switchyard:history'), before);
  });

  test('on again with one option keeps the others (mode, secret, allow-lists); --full switches the mode', async () => {
    const stored = JSON.parse((await redis.cli.get('switchyard:maintenance:shop')) as string) as MaintenanceState;
    const hold = await run('maintenance', 'on', '--site', 'shop', '--hold', '5s', '--json');
    assert.equal(hold.code, 0, hold.stderr);
    const held = hold.json<MaintenanceOutput>();
    assert.equal(held.outcome, 'updated');
    assert.deepEqual({ ...held.maintenance, hold: 2000 }, stored, 'only the hold changed');
    assert.equal(held.maintenance.hold, 5000);
    assert.equal(frontEnd.watcher.maintenance('shop')?.secretHash, stored.secretHash, 'the secret is kept');
    const until = await run('maintenance', 'on', '--site', 'shop', '--until', '+10m', '--json');
    assert.equal(until.json<MaintenanceOutput>().maintenance.retryAfter, undefined, '--until replaces --retry-after');
    const full = await run('maintenance', 'on', '--site', 'shop', '--full', '--message', 'Full stop now', '--json');
    assert.equal(full.code, 0, full.stderr);
    const output = full.json<MaintenanceOutput>();
    assert.equal(output.outcome, 'updated');
    assert.equal(output.maintenance.mode, 'on');
    assert.equal(output.maintenance.startedAt, stored.startedAt);
    assert.deepEqual(output.maintenance.allowIps, ['10.0.0.0/8']);
    assert.equal(frontEnd.watcher.maintenance('shop')?.message, 'Full stop now');
    const [entry] = (await run('history', '--limit', '1', '--json')).json<{ entries: { action: string }[] }>().entries;
    assert.equal(entry?.action, 'maintenance update');
    assert.equal((await run('maintenance', 'on', '--site', 'shop', '--full', '--read-only')).code, 2);
  });

  test('on --replace starts over from the options given, start time kept', async () => {
    const setUp = await run('maintenance', 'on', '--site', 'shop', '--read-only', '--hold', '1s', '--secret', 'replace-me-42');
    assert.equal(setUp.code, 0, setUp.stderr);
    const startedAt = JSON.parse((await redis.cli.get('switchyard:maintenance:shop')) as string).startedAt;
    const result = await run('maintenance', 'on', '--site', 'shop', '--replace', '--message', 'Full stop now', '--json');
    assert.equal(result.code, 0, result.stderr);
    const output = result.json<MaintenanceOutput>();
    assert.equal(output.outcome, 'updated');
    assert.deepEqual(
      Object.keys(output.maintenance).sort(),
      ['by', 'message', 'mode', 'startedAt'],
      'hold, secret, allow-lists and until dropped',
    );
    assert.equal(output.maintenance.mode, 'on');
    assert.equal(output.maintenance.startedAt, startedAt);
    assert.equal(frontEnd.watcher.maintenance('shop')?.secretHash, undefined);
  });

  test('status: human and JSON', async () => {
    const human = await run('maintenance', 'status', '--site', 'shop');
    assert.equal(human.code, 0);
    assert.match(
      human.stdout,
      /^maintenance of shop: on \(all requests\), message "Full stop now"\nsince .+ by .+\nfront ends: 1 live, 1 apply the current state; 0 request\(s\) held now, 0 refused since start\n$/,
    );
    const json = (await run('maintenance', 'status', '--site', 'shop', '--json')).json<{ maintenance: MaintenanceState; fronts: number }>();
    assert.equal(json.maintenance.message, 'Full stop now');
    assert.equal(json.fronts, 1);
  });

  test('off, then off again (unchanged)', async () => {
    const off = await run('maintenance', 'off', '--site', 'shop', '--json');
    assert.equal(off.code, 0, off.stderr);
    assert.equal(off.json<MaintenanceOutput>().outcome, 'off');
    assert.equal(frontEnd.watcher.maintenance('shop'), undefined);
    assert.equal(await redis.cli.get('switchyard:maintenance:shop'), null);
    const again = await run('maintenance', 'off', '--site', 'shop');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^maintenance of shop is already off; nothing written/);
    const status = await run('maintenance', 'status', '--site', 'shop');
    assert.match(status.stdout, /^maintenance of shop: off\n/);
  });

  test('history lists every change, newest first, filtered by site', async () => {
    await run('route', 'set', 'http://127.0.0.1:9', '--force', '--site', 'blog');
    const all = (await run('history', '--json')).json<{ entries: { site: string; action: string; kind: string }[] }>().entries;
    assert.deepEqual(
      all.map((entry) => `${entry.site} ${entry.action}`),
      [
        'blog route set',
        'shop maintenance off',
        'shop maintenance update',
        'shop maintenance update',
        'shop maintenance update',
        'shop maintenance update',
        'shop maintenance update',
        'shop maintenance on',
      ],
    );
    const shop = (await run('history', '--site', 'shop', '--limit', '2', '--json')).json<{ entries: { action: string }[] }>().entries;
    assert.deepEqual(
      shop.map((entry) => entry.action),
      ['maintenance off', 'maintenance update'],
    );
    const table = await run('history', '--site', 'shop');
    assert.match(table.stdout, /^TIME +BY +SITE +ACTION +CHANGE +VERSION/);
    assert.match(table.stdout, /maintenance off +maintenance on \(all requests\), message "Full stop now" → off/);
  });

  test('rollback undoes the last change, is recorded, and a second rollback redoes it', async () => {
    await run('maintenance', 'on', '--site', 'shop', '--read-only');
    const rollback = await run('rollback', '--site', 'shop', '--json');
    assert.equal(rollback.code, 0, rollback.stderr);
    const output = rollback.json<{ changes: { kind: string; to: string | null }[]; convergence: { fronts: number } }>();
    assert.deepEqual(
      output.changes.map((change) => [change.kind, change.to]),
      [['maintenance', null]],
    );
    assert.equal(output.convergence.fronts, 1);
    assert.equal(frontEnd.watcher.maintenance('shop'), undefined);
    const [entry] = (await run('history', '--site', 'shop', '--limit', '1', '--json')).json<{ entries: { action: string }[] }>().entries;
    assert.equal(entry?.action, 'rollback');
    const redo = await run('rollback', '--site', 'shop');
    assert.equal(redo.code, 0, redo.stderr);
    assert.match(redo.stdout, /undoing "rollback" by .+ on shop:\n {2}maintenance off → read-only/);
    assert.equal(frontEnd.watcher.maintenance('shop')?.mode, 'read-only');
  });

  test('rollback refuses when the value was changed outside switchyard, and when there is no history', async () => {
    await redis.cli.set('switchyard:maintenance:shop', JSON.stringify({ mode: 'on' }));
    const refused = await run('rollback', '--site', 'shop');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^switchyard: maintenance of shop is "\{\\"mode\\":\\"on\\"\}" but its last recorded change set .+ \(changed outside switchyard\?\); nothing rolled back/,
    );
    assert.equal(await redis.cli.get('switchyard:maintenance:shop'), JSON.stringify({ mode: 'on' }));
    const none = await run('rollback', '--site', 'never-touched');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no recorded change of site "never-touched" to roll back/);
  });

  test('on/off --all-sites: every site in one atomic write (one version), each keeping its own options', async () => {
    for (const site of ['all-a', 'all-b'])
      assert.equal((await run('route', 'set', 'http://127.0.0.1:9', '--force', '--site', site)).code, 0);
    assert.equal((await run('maintenance', 'on', '--site', 'all-b', '--secret', 'keep-this-secret')).code, 0);
    const historyBefore = await redis.cli.xlen('switchyard:history');
    const on = await run('maintenance', 'on', '--all-sites', '--read-only', '--message', 'Moving', '--json');
    assert.equal(on.code, 0, on.stderr);
    const output = on.json<{ sites: { site: string; outcome: string; maintenance: MaintenanceState }[]; version: number }>();
    const bySite = new Map(output.sites.map((entry) => [entry.site, entry]));
    assert.equal(bySite.get('all-a')?.outcome, 'on');
    assert.equal(bySite.get('all-b')?.outcome, 'updated');
    assert.ok(bySite.get('all-b')?.maintenance.secretHash, 'all-b keeps its secret');
    assert.equal(bySite.get('all-a')?.maintenance.secretHash, undefined);
    for (const site of ['all-a', 'all-b']) {
      assert.equal(frontEnd.watcher.maintenance(site)?.mode, 'read-only', site);
      assert.equal(frontEnd.watcher.maintenance(site)?.message, 'Moving', site);
    }
    const changed = output.sites.filter((entry) => entry.outcome !== 'unchanged').length;
    const entries = await frontEnd.store.history(changed);
    assert.equal(await redis.cli.xlen('switchyard:history'), historyBefore + changed, 'one history entry per changed site');
    assert.deepEqual(new Set(entries.map((entry) => entry.version)), new Set([output.version]), 'one version for the batch');
    const off = await run('maintenance', 'off', '--all-sites', '--json');
    assert.equal(off.code, 0, off.stderr);
    assert.ok(off.json<{ sites: { outcome: string }[] }>().sites.every((entry) => entry.outcome === 'off'));
    assert.deepEqual(await redis.cli.keys('switchyard:maintenance:*'), []);
    for (const site of ['all-a', 'all-b']) assert.equal(frontEnd.watcher.maintenance(site), undefined, site);
    const both = await run('maintenance', 'on', '--all-sites', '--site', 'all-a');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^switchyard: use --site or --all-sites, not both\n$/);
  });
});
