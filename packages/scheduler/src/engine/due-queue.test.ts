import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DueQueue, type DueEntry } from './due-queue.js';

const entry = (key: string, dueMs: number): DueEntry => ({ key, dueMs, bucket: 0, composed: key });

/** A tiny deterministic PRNG, so a failure is reproducible. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

void test('DueQueue pops entries in due-time order', { timeout: 5000 }, () => {
  const queue = new DueQueue();
  const random = prng(7);
  const dues = Array.from({ length: 500 }, () => Math.floor(random() * 10_000));
  dues.forEach((due, i) => assert.ok(queue.push(entry(`k${i}`, due))));
  assert.equal(queue.size, 500);
  const popped: number[] = [];
  for (let next = queue.popDue(Infinity); next; next = queue.popDue(Infinity)) popped.push(next.dueMs);
  assert.deepEqual(popped, [...dues].sort((a, b) => a - b));
  assert.equal(queue.size, 0);
  assert.equal(queue.peek(), undefined);
});

void test('DueQueue.popDue returns only entries due at the given time', { timeout: 5000 }, () => {
  const queue = new DueQueue();
  queue.push(entry('late', 300));
  queue.push(entry('early', 100));
  queue.push(entry('middle', 200));
  assert.equal(queue.popDue(99), undefined, 'nothing due yet');
  assert.equal(queue.popDue(100)?.key, 'early', 'due exactly at its time');
  assert.equal(queue.popDue(150), undefined);
  assert.equal(queue.peek()?.key, 'middle', 'peek does not remove');
  assert.equal(queue.size, 2);
  assert.equal(queue.popDue(1000)?.key, 'middle');
  assert.equal(queue.popDue(1000)?.key, 'late');
  assert.equal(queue.popDue(1000), undefined);
});

void test('DueQueue refuses a key already queued, and accepts it again once popped', { timeout: 5000 }, () => {
  const queue = new DueQueue();
  assert.equal(queue.push(entry('a', 10)), true);
  assert.equal(queue.push(entry('a', 5)), false, 'same key: refused, the first entry stays');
  assert.equal(queue.size, 1);
  assert.equal(queue.popDue(100)?.dueMs, 10);
  assert.equal(queue.has('a'), false);
  assert.equal(queue.push(entry('a', 20)), true);
  assert.equal(queue.has('a'), true);
});

void test('DueQueue removes lazily: a removed key is never popped and may be pushed again', { timeout: 5000 }, () => {
  const queue = new DueQueue();
  queue.push(entry('a', 10));
  queue.push(entry('b', 20));
  queue.push(entry('c', 30));
  queue.remove('a');
  queue.remove('c');
  queue.remove('not-there');
  assert.equal(queue.size, 1);
  assert.equal(queue.has('a'), false);
  assert.equal(queue.peek()?.key, 'b', 'the dead top is shed');
  // Pushed again with another due time: the stale heap entry of the same key must not come out.
  queue.push(entry('c', 5));
  assert.deepEqual([queue.popDue(100)?.key, queue.popDue(100)?.key, queue.popDue(100)], ['c', 'b', undefined]);
});

void test('DueQueue stays ordered through many removals (rebuild) and re-pushes', { timeout: 5000 }, () => {
  const queue = new DueQueue();
  const random = prng(42);
  const live = new Map<string, number>();
  for (let round = 0; round < 20_000; round++) {
    const key = `k${Math.floor(random() * 3000)}`;
    if (random() < 0.45 && live.has(key)) {
      queue.remove(key);
      live.delete(key);
    } else if (!live.has(key)) {
      const due = Math.floor(random() * 100_000);
      assert.ok(queue.push(entry(key, due)));
      live.set(key, due);
    }
  }
  assert.equal(queue.size, live.size);
  const popped: Array<[string, number]> = [];
  for (let next = queue.popDue(Infinity); next; next = queue.popDue(Infinity)) popped.push([next.key, next.dueMs]);
  assert.equal(popped.length, live.size, 'every live entry once, no removed one');
  for (const [key, due] of popped) assert.equal(live.get(key), due, `${key} comes out with its current due time`);
  for (let i = 1; i < popped.length; i++) assert.ok((popped[i - 1] as [string, number])[1] <= (popped[i] as [string, number])[1], 'ascending');
});

void test('DueQueue.clear empties it', { timeout: 5000 }, () => {
  const queue = new DueQueue();
  queue.push(entry('a', 1));
  queue.clear();
  assert.equal(queue.size, 0);
  assert.equal(queue.popDue(Infinity), undefined);
  assert.equal(queue.push(entry('a', 1)), true);
});
