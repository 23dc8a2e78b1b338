// The Host-header cache alone: its bound, what it keeps under churn, and clear().
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostMatcher, TwoGenerationCache } from '../src/site-selection';

describe('two-generation cache', () => {
  test('never holds more than its bound, and keeps an entry used while others churn', () => {
    const cache = new TwoGenerationCache<number>(10);
    cache.set('hot', 0);
    for (let index = 0; index < 1000; index += 1) {
      cache.set(`cold-${index}`, index);
      assert.ok(cache.size <= 10, `size ${cache.size} over the bound`);
      // Used every few inserts, so it is always in one of the two generations.
      if (index % 3 === 0) assert.equal(cache.get('hot'), 0, `hot entry lost after ${index} inserts`);
    }
    assert.equal(cache.get('cold-0'), undefined, 'an entry never used again is dropped');
  });

  test('clear() forgets everything', () => {
    const cache = new TwoGenerationCache<string>(100);
    for (let index = 0; index < 70; index += 1) cache.set(`k${index}`, 'v');
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.get('k69'), undefined);
  });
});

describe('host matcher', () => {
  test('a cached "unknown" answer is dropped by clear(), so a new site is found', () => {
    const sites = new Set<string>();
    const matcher = new HostMatcher((site) => sites.has(site), 100);
    assert.equal(matcher.resolve('shop.example.com:8080'), undefined);
    sites.add('*.example.com');
    assert.equal(matcher.resolve('shop.example.com:8080'), undefined, 'cached until cleared');
    matcher.clear();
    assert.equal(matcher.resolve('shop.example.com:8080'), '*.example.com');
    assert.equal(matcher.resolve('SHOP.example.com.'), '*.example.com');
  });
});
