import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syncLoop, type SyncState } from './sync-loop.js';

/** Resolves once `predicate` holds, polling every few ms (fails after 2 s). */
async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('syncs at start, again on every change, and reports readiness', async () => {
  let listener: (() => void) | undefined;
  const readiness: boolean[] = [];
  let syncs = 0;
  const controller = new AbortController();
  const done = syncLoop({
    sync: () => {
      syncs += 1;
      return Promise.resolve('synced');
    },
    onChange: (l) => ((listener = l), () => (listener = undefined)),
    setReady: (ready) => readiness.push(ready),
    onError: () => assert.fail('no error expected'),
  })(controller.signal);
  await eventually(() => syncs === 1, 'the first sync');
  listener?.();
  await eventually(() => syncs === 2, 'the sync after a change');
  controller.abort();
  await done;
  assert.deepEqual(readiness, [true, false, true]);
  assert.equal(listener, undefined, 'unsubscribed on stop');
});

test('retries a failed sync with backoff and polls while waiting for its input', async () => {
  const results: Array<SyncState | Error> = ['waiting', new Error('API down'), new Error('API down'), 'synced'];
  const errors: Array<[number, number]> = [];
  const readiness: boolean[] = [];
  const controller = new AbortController();
  const done = syncLoop({
    sync: () => {
      const next = results.shift() ?? 'synced';
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    setReady: (ready) => readiness.push(ready),
    onError: (_err, attempt, delayMs) => errors.push([attempt, delayMs]),
    waitingMs: 5,
    backoff: { initialMs: 10, maxMs: 20, jitter: 0 },
  })(controller.signal);
  await eventually(() => results.length === 0, 'every scripted sync');
  controller.abort();
  await done;
  assert.deepEqual(errors, [[1, 10], [2, 20]]);
  assert.deepEqual(readiness, [false, false, false, true]);
});
