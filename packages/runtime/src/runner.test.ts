import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { runAll, settleWithin, sleep, unlessAborted, untilAborted, type Runner } from './runner.js';

test('runAll stops the others when one returns', async () => {
  const stopped: string[] = [];
  const waiter = (name: string): Runner => async (signal) => {
    await untilAborted(signal);
    stopped.push(name);
  };
  await runAll(new AbortController().signal, [waiter('a'), waiter('b'), async () => sleep(10)]);
  assert.deepEqual(stopped.sort(), ['a', 'b']);
});

test('runAll stops everything when the outer signal aborts', async () => {
  const outer = new AbortController();
  const done = runAll(outer.signal, [untilAborted, untilAborted]);
  outer.abort();
  await done;
});

test('runAll reports a failure and aborts the rest', async () => {
  let aborted = false;
  await assert.rejects(
    runAll(new AbortController().signal, [
      async () => {
        await sleep(5);
        throw new Error('boom');
      },
      async (signal) => {
        await untilAborted(signal);
        aborted = true;
      },
    ]),
    /boom/,
  );
  assert.equal(aborted, true);
});

test('runAll reports several failures together', async () => {
  await assert.rejects(
    runAll(new AbortController().signal, [
      async () => Promise.reject(new Error('one')),
      async () => Promise.reject(new Error('two')),
    ]),
    (err: unknown) => err instanceof AggregateError && err.errors.length === 2,
  );
});

test('a group of 12 runners, each listening twice to the signal, raises no MaxListenersExceededWarning', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.name);
  };
  process.on('warning', onWarning);
  try {
    const twice: Runner = async (signal) => {
      await Promise.all([untilAborted(signal), sleep(60_000, signal)]);
    };
    await runAll(new AbortController().signal, [...Array.from({ length: 12 }, () => twice), async () => sleep(20)]);
    // Warnings are emitted on the next tick.
    await sleep(10);
    assert.deepEqual(warnings.filter((name) => name === 'MaxListenersExceededWarning'), []);
  } finally {
    process.off('warning', onWarning);
  }
});

test('settleWithin returns when the work settles, or at the bound when it never does, and ignores its failure', { timeout: 5000 }, async () => {
  const never = new Promise<void>(() => undefined);
  const started = performance.now();
  await settleWithin(never, 50);
  assert.ok(performance.now() - started >= 45, 'waited for the bound');
  let settled = false;
  await settleWithin(
    Promise.reject(new Error('peer gone')).finally(() => {
      settled = true;
    }),
    60_000,
  );
  assert.equal(settled, true, 'returned once the work failed, long before the bound');
});

describe('unlessAborted', () => {
  test('leaves no listener on the signal once the work settles, however often a loop calls it', { timeout: 5_000 }, async () => {
    const controller = new AbortController();
    for (let i = 0; i < 100; i++) assert.equal(await unlessAborted(Promise.resolve(i), controller.signal), i);
    await assert.rejects(unlessAborted(Promise.reject(new Error('read failed')), controller.signal), /read failed/);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  test('resolves undefined as soon as the signal aborts, without waiting for the work', { timeout: 5_000 }, async () => {
    const controller = new AbortController();
    const pending = unlessAborted(new Promise<number>(() => undefined), controller.signal);
    controller.abort();
    assert.equal(await pending, undefined);
    assert.equal(await unlessAborted(Promise.resolve(1), controller.signal), undefined);
  });
});
