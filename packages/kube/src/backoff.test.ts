import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, worthWarning } from './backoff.js';

test('backoffDelay doubles from initial, caps at max, adds jitter', () => {
  const noJitter = { initialMs: 100, maxMs: 1000, jitter: 0 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, noJitter)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(backoffDelay(1, { initialMs: 100, jitter: 0.5 }, () => 1), 150);
  assert.equal(backoffDelay(1, { initialMs: 100, jitter: 0.5 }, () => 0), 100);
  assert.equal(backoffDelay(1000, { initialMs: 100, maxMs: 5000, jitter: 0 }), 5000);
  assert.equal(backoffDelay(0, noJitter), 100);
});

test('worthWarning: the 1st, 2nd, 4th, 8th... failure in a row', () => {
  assert.deepEqual(Array.from({ length: 17 }, (_, i) => i).filter(worthWarning), [1, 2, 4, 8, 16]);
});
