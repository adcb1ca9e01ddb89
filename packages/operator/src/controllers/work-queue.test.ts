import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '@tsdapr/runtime';
import { WorkQueue, type Timers } from './work-queue.js';

/** A fake clock: timers fire only when the test advances it. */
function fakeTimers(): Timers & { pending: Array<{ at: number; fn: () => void }>; advance(ms: number): void; now: number } {
  const timers = {
    now: 0,
    pending: [] as Array<{ at: number; fn: () => void }>,
    setTimeout(fn: () => void, ms: number) {
      const entry = { at: timers.now + ms, fn };
      timers.pending.push(entry);
      return entry;
    },
    clearTimeout(handle: unknown) {
      timers.pending = timers.pending.filter((entry) => entry !== handle);
    },
    advance(ms: number) {
      timers.now += ms;
      const due = timers.pending.filter((entry) => entry.at <= timers.now);
      timers.pending = timers.pending.filter((entry) => entry.at > timers.now);
      for (const entry of due) entry.fn();
    },
  };
  return timers;
}

test('a 409 is a quiet, short requeue; other failures back off exponentially and then succeed', async () => {
  const timers = fakeTimers();
  const outcomes: Array<'conflict' | 'fail' | 'ok'> = ['conflict', 'fail', 'fail', 'ok'];
  const errors: string[] = [];
  const queue = new WorkQueue({
    name: 't',
    workers: 1,
    logger: silentLogger(),
    timers,
    backoff: { initialMs: 100, jitter: 0 },
    conflictDelayMs: 10,
    onError: (_key, code) => errors.push(code),
    reconcile: async () => {
      const next = outcomes.shift();
      if (next === 'conflict') throw Object.assign(new Error('conflict'), { code: 409 });
      if (next === 'fail') throw new Error('boom');
      return undefined;
    },
  });
  await queue.processOnce('k');
  assert.deepEqual(timers.pending.map((p) => p.at), [10], 'conflict requeued after 10ms');
  assert.deepEqual(errors, [], 'a conflict is not an error');
  timers.advance(10);
  await queue.processOnce('k');
  assert.deepEqual(timers.pending.map((p) => p.at), [10 + 100]);
  timers.advance(100);
  await queue.processOnce('k');
  assert.deepEqual(timers.pending.map((p) => p.at), [110 + 200], 'doubling');
  timers.advance(200);
  await queue.processOnce('k');
  assert.deepEqual(timers.pending, []);
  assert.deepEqual(errors, ['internal', 'internal']);
});

test('keys are coalesced and one key never runs on two workers at once', async () => {
  const running = new Set<string>();
  let overlap = false;
  const seen: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const queue = new WorkQueue({
    name: 't',
    workers: 4,
    logger: silentLogger(),
    reconcile: async (key) => {
      if (running.has(key)) overlap = true;
      running.add(key);
      seen.push(key);
      if (seen.length === 1) await gate;
      running.delete(key);
      return undefined;
    },
  });
  const controller = new AbortController();
  const done = queue.runner(controller.signal);
  queue.add('a');
  queue.add('a');
  await new Promise((resolve) => setImmediate(resolve));
  queue.add('a'); // while 'a' runs: re-run once after
  queue.add('b');
  queue.add('b');
  await new Promise((resolve) => setImmediate(resolve));
  release();
  await new Promise((resolve) => setTimeout(resolve, 20));
  controller.abort();
  await done;
  assert.equal(overlap, false);
  assert.deepEqual(seen.sort(), ['a', 'a', 'b']);
});

test('every idle worker can be woken: a second key runs while the first is still being reconciled', async () => {
  let releaseSlow: () => void = () => undefined;
  const slowBlocked = new Promise<void>((resolve) => (releaseSlow = resolve));
  const finished: string[] = [];
  const queue = new WorkQueue({
    name: 't',
    workers: 2,
    logger: silentLogger(),
    reconcile: async (key) => {
      if (key === 'slow') await slowBlocked;
      finished.push(key);
      return undefined;
    },
  });
  const controller = new AbortController();
  const done = queue.runner(controller.signal);
  // Both workers idle first, then two adds: each must wake its own worker.
  await new Promise((resolve) => setImmediate(resolve));
  queue.add('slow');
  queue.add('fast');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(finished, ['fast'], 'fast ran while slow was blocked');
  releaseSlow();
  await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort();
  await done;
  assert.deepEqual(finished, ['fast', 'slow']);
});
