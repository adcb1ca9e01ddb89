import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distribution, percentileOfSorted } from './percentiles.js';

test('nearest rank: p50 of 1..100 is 50, p99 is 99, p100 is 100', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentileOfSorted(values, 0.5), 50);
  assert.equal(percentileOfSorted(values, 0.9), 90);
  assert.equal(percentileOfSorted(values, 0.99), 99);
  assert.equal(percentileOfSorted(values, 1), 100);
  assert.equal(percentileOfSorted(values, 0), 1);
});

test('one value is every percentile; none is NaN', () => {
  assert.equal(percentileOfSorted([7], 0.5), 7);
  assert.equal(percentileOfSorted([7], 0.99), 7);
  assert.ok(Number.isNaN(percentileOfSorted([], 0.5)));
});

test('distribution sorts numerically (not as strings), skips NaN, keeps negatives', () => {
  const d = distribution([10, 9, 100, NaN, -3, 2]);
  assert.deepEqual(d, { count: 5, min: -3, p50: 9, p90: 100, p99: 100, max: 100 });
  const empty = distribution(new Float64Array([NaN]));
  assert.equal(empty.count, 0);
  assert.ok(Number.isNaN(empty.p50) && Number.isNaN(empty.max));
});

test('distribution of a typed array of 1,000 values', () => {
  const values = new Float64Array(1000).map((_, i) => 999 - i);
  const d = distribution(values);
  assert.equal(d.p50, 499);
  assert.equal(d.p90, 899);
  assert.equal(d.p99, 989);
  assert.equal(d.max, 999);
});
