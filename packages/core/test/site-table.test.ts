// The site table alone: no Redis, no timers. A fake store is a key layout plus the reads it would
// return, so every rule (validation, deletions, lost state) is checked read by read.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { keyLayout } from '../src/index';
import { stateDigest } from '../src/site-state';
import { SiteTable } from '../src/site-table';

const keys = keyLayout();
const ROUTE = keys.route('default');
const BLOG = keys.route('blog');
const MAINTENANCE = keys.maintenance('default');
const full = (version: number, values: Record<string, string>) => ({ version, values: new Map(Object.entries(values)) });
const some = (version: number, values: Record<string, string | null>) => ({ version, values: new Map(Object.entries(values)) });

describe('site table', () => {
  test('applies valid values, normalised, and reports each change', () => {
    const table = new SiteTable(keys);
    const result = table.applyFull(full(3, { [ROUTE]: 'http://127.0.0.1:1000/', [MAINTENANCE]: '{"mode":"read-only"}' }), {
      judgeLostState: false,
    });
    assert.equal(result.changed, true);
    assert.deepEqual(
      result.changes.map((change) => change.site),
      ['default', 'default'],
    );
    assert.equal(table.site('default')?.route?.target, 'http://127.0.0.1:1000');
    assert.equal(table.site('default')?.maintenance?.mode, 'read-only');
    assert.equal(table.version, 3);
    assert.deepEqual(Object.fromEntries(table.snapshot().values), {
      [ROUTE]: 'http://127.0.0.1:1000/',
      [MAINTENANCE]: '{"mode":"read-only"}',
    });
  });

  test('the digest, computed when asked for, follows every applied change', () => {
    const table = new SiteTable(keys);
    const empty = table.digest;
    assert.equal(empty, stateDigest([]));
    table.applyKeys(some(1, { [ROUTE]: 'http://127.0.0.1:1000' }));
    const first = table.digest;
    assert.notEqual(first, empty);
    assert.equal(first, stateDigest(table.allSites()));
    table.applyKeys(some(2, { [ROUTE]: 'http://127.0.0.1:2000' }));
    assert.notEqual(table.digest, first, 'a change read after the digest was asked for is in the next one');
    assert.equal(table.digest, stateDigest(table.allSites()));
    table.applyKeys(some(3, { [ROUTE]: 'http://127.0.0.1:1000' }));
    assert.equal(table.digest, first, 'the same state, the same digest');
  });

  test('a malformed value keeps the last good one, is reported once, listed until replaced or deleted', () => {
    const table = new SiteTable(keys);
    table.applyKeys(some(1, { [ROUTE]: 'http://127.0.0.1:1000' }));
    const digest = table.digest;
    const bad = table.applyKeys(some(1, { [ROUTE]: 'ftp://nope' }));
    assert.deepEqual(
      bad.invalid.map(({ key, error }) => [key, error.code]),
      [[ROUTE, 'SWITCHYARD_ERR_INVALID_ROUTE']],
    );
    assert.equal(bad.changed, false);
    assert.equal(table.site('default')?.route?.target, 'http://127.0.0.1:1000');
    assert.equal(table.digest, digest);
    assert.deepEqual(table.invalidKeys, [ROUTE]);
    assert.deepEqual(table.applyKeys(some(1, { [ROUTE]: 'ftp://nope' })).invalid, [], 'the same raw value is not reported again');
    assert.deepEqual(table.invalidKeys, [ROUTE], 'still listed');
    table.applyKeys(some(2, { [ROUTE]: 'http://127.0.0.1:2000' }));
    assert.deepEqual(table.invalidKeys, []);
    table.applyKeys(some(2, { [ROUTE]: 'garbage' }));
    table.applyKeys(some(3, { [ROUTE]: null }));
    assert.deepEqual(table.invalidKeys, [], 'a deletion clears it');
    assert.equal(table.site('default'), undefined);
  });

  test('a full read deletes what the store no longer holds; a keys read deletes only what it names', () => {
    const table = new SiteTable(keys);
    table.applyFull(full(2, { [ROUTE]: 'http://127.0.0.1:1000', [BLOG]: 'http://127.0.0.1:1001' }), { judgeLostState: false });
    const result = table.applyFull(full(3, { [ROUTE]: 'http://127.0.0.1:1000' }), { judgeLostState: false });
    assert.deepEqual(result.changes, [
      { site: 'blog', state: undefined, previous: { site: 'blog', route: { target: 'http://127.0.0.1:1001' } } },
    ]);
    assert.equal(table.has('blog'), false);
    table.applyKeys(some(4, { [BLOG]: 'http://127.0.0.1:1001' }));
    table.applyKeys(some(5, { [ROUTE]: 'http://127.0.0.1:1000' }));
    assert.equal(table.has('blog'), true);
  });

  describe('lost state', () => {
    const held = () => {
      const table = new SiteTable(keys);
      table.applyFull(full(7, { [ROUTE]: 'http://127.0.0.1:1000', [BLOG]: 'http://127.0.0.1:1001' }), { judgeLostState: false });
      return table;
    };

    test('an empty store after an outage: everything kept, the version held, reported with what is kept', () => {
      const table = held();
      const result = table.applyFull(full(0, {}), { judgeLostState: true });
      assert.deepEqual(result.lost, { version: 0, keysInStore: 0, appliedVersion: 7, sitesHeld: 2 });
      assert.equal(table.lostState, true);
      assert.equal(table.version, 7);
      assert.equal(table.has('blog'), true);
      // Later full reads (the periodic resync) add and change but delete nothing, and hold the version.
      const again = table.applyFull(full(0, { [keys.route('new')]: 'http://127.0.0.1:1002' }), { judgeLostState: false });
      assert.equal(again.lost, undefined, 'reported once');
      assert.deepEqual([table.has('blog'), table.has('new'), table.version], [true, true, 7]);
    });

    test('a version that went backwards is lost state too; an equal or newer one is not', () => {
      const older = held();
      assert.ok(older.applyFull(full(5, { [ROUTE]: 'http://127.0.0.1:1000' }), { judgeLostState: true }).lost);
      const same = held();
      assert.equal(same.applyFull(full(7, { [ROUTE]: 'http://127.0.0.1:1000' }), { judgeLostState: true }).lost, undefined);
      assert.equal(same.has('blog'), false, 'not lost: the deletion is applied');
    });

    test('without judging (no outage) an empty store is followed', () => {
      const table = held();
      table.applyFull(full(8, {}), { judgeLostState: false });
      assert.deepEqual([table.lostState, table.allSites().length], [false, 0]);
    });

    test('state written again ends keeping: the next full read is the truth, deletions included', () => {
      const table = held();
      table.applyFull(full(0, {}), { judgeLostState: true });
      assert.equal(table.stateWritten(), true, 'the caller must read everything');
      assert.equal(table.stateWritten(), false, 'only once');
      table.applyFull(full(1, { [ROUTE]: 'http://127.0.0.1:2000' }), { judgeLostState: false });
      assert.deepEqual([table.lostState, table.has('blog'), table.version], [false, false, 1]);
    });

    test('an empty table never judges an empty store as lost', () => {
      const table = new SiteTable(keys);
      assert.equal(table.applyFull(full(0, {}), { judgeLostState: true }).lost, undefined);
    });
  });
});
