import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBounded } from './bounded-pool.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('every task runs once, never more than the limit at a time', async () => {
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  const started = await runBounded(100, 7, async (i) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await tick();
    seen.push(i);
    inFlight--;
  });
  assert.equal(started, 100);
  assert.equal(most, 7);
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
});

test('stops starting tasks once told to', async () => {
  let done = 0;
  const started = await runBounded(
    1000,
    4,
    async () => {
      await tick();
      done++;
    },
    () => done >= 10,
  );
  assert.ok(started >= 10 && started <= 14, String(started));
  assert.equal(done, started);
});

test('no tasks, or a limit above the count', async () => {
  assert.equal(await runBounded(0, 8, async () => undefined), 0);
  assert.equal(await runBounded(3, 64, async () => undefined), 3);
});
