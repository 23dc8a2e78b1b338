import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectedBackText } from '../src/page';

test('the expected return switches units on the rounded count (59:50 is about 1 hour, not 60 minutes)', () => {
  assert.equal(expectedBackText(3590, undefined), 'Please try again in about 1 hour.');
  assert.equal(expectedBackText(3569, undefined), 'Please try again in about 59 minutes.');
  assert.equal(expectedBackText(47.9 * 3600, undefined), 'Please try again in about 2 days.');
  assert.equal(expectedBackText(89, undefined), 'Please try again in about 1 minute.');
  assert.equal(expectedBackText(59, undefined), 'Please try again in less than a minute.');
});
