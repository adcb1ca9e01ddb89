import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairLimiter } from './fair-limiter.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve: () => void = () => undefined;
  let reject: (err: Error) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void test('FairLimiter runs at most perKey operations per key, the rest in FIFO order', { timeout: 5000 }, async () => {
  const limiter = new FairLimiter(2);
  const gates = Array.from({ length: 5 }, () => deferred());
  const started: number[] = [];
  const results = gates.map((gate, i) =>
    limiter.run('app', async () => {
      started.push(i);
      await gate.promise;
      return i;
    }),
  );
  await tick();
  assert.deepEqual(started, [0, 1], 'two in flight');
  gates[1]?.resolve();
  await tick();
  assert.deepEqual(started, [0, 1, 2], 'a finished slot goes to the first waiter');
  gates[0]?.resolve();
  await tick();
  assert.deepEqual(started, [0, 1, 2, 3]);
  gates[2]?.resolve();
  gates[3]?.resolve();
  gates[4]?.resolve();
  assert.deepEqual(await Promise.all(results), [0, 1, 2, 3, 4]);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
});

void test('FairLimiter: a key at its limit does not block other keys', { timeout: 5000 }, async () => {
  const limiter = new FairLimiter(1);
  const blocked = deferred();
  const first = limiter.run('flood', () => blocked.promise);
  const queued = limiter.run('flood', async () => 'queued');
  let otherDone = false;
  const other = limiter.run('quiet', async () => {
    otherDone = true;
    return 'other';
  });
  assert.equal(await other, 'other');
  assert.ok(otherDone);
  blocked.resolve();
  await first;
  assert.equal(await queued, 'queued');
});

void test('FairLimiter frees the slot when the work fails', { timeout: 5000 }, async () => {
  const limiter = new FairLimiter(1);
  await assert.rejects(
    limiter.run('app', async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  const failing = deferred();
  const a = limiter.run('app', () => failing.promise);
  const b = limiter.run('app', async () => 'b');
  failing.reject(new Error('etcd down'));
  await assert.rejects(a, /etcd down/);
  assert.equal(await b, 'b', 'the waiter runs after a failure');
  // Nothing leaked: perKey operations may start at once again.
  const gate = deferred();
  let started = false;
  const c = limiter.run('app', async () => {
    started = true;
    await gate.promise;
  });
  await tick();
  assert.ok(started);
  gate.resolve();
  await c;
});
