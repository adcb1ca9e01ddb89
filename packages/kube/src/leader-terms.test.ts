import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger, untilAborted, type Runner } from '@tsdapr/runtime';
import { leaderTerms } from './leader-terms.js';

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A writer that records when it starts and stops. */
function recordingRunner(log: string[], name: string): Runner {
  return async (signal) => {
    log.push(`${name} start`);
    await untilAborted(signal);
    log.push(`${name} stop`);
  };
}

void test('runners run only during leadership terms and restart when leadership is regained', async () => {
  const log: string[] = [];
  const changes: boolean[] = [];
  const terms = leaderTerms({ runners: [recordingRunner(log, 'w')], logger: silentLogger(), onLeaderChange: (leading) => changes.push(leading) });
  const stop = new AbortController();
  const running = terms.runner(stop.signal);
  await flush();
  assert.deepEqual(log, [], 'a follower runs nothing');

  terms.callbacks.onStartedLeading();
  await flush();
  assert.deepEqual(log, ['w start']);
  assert.equal(terms.isLeader(), true);

  terms.callbacks.onStoppedLeading('lease lost');
  await flush();
  assert.deepEqual(log, ['w start', 'w stop']);
  assert.equal(terms.isLeader(), false);

  terms.callbacks.onStartedLeading();
  await flush();
  assert.deepEqual(log, ['w start', 'w stop', 'w start']);

  stop.abort();
  await running;
  assert.deepEqual(log, ['w start', 'w stop', 'w start', 'w stop']);
  assert.deepEqual(changes, [true, false, true]);
});

void test('leadership won before the runner starts begins a term once it does', async () => {
  const log: string[] = [];
  const terms = leaderTerms({ runners: [recordingRunner(log, 'w')], logger: silentLogger() });
  terms.callbacks.onStartedLeading();
  const stop = new AbortController();
  const running = terms.runner(stop.signal);
  await flush();
  assert.deepEqual(log, ['w start']);
  stop.abort();
  await running;
});

void test('a new term waits until the previous one has wound down', async () => {
  const log: string[] = [];
  let release: (() => void) | undefined;
  const slowToStop: Runner = async (signal) => {
    log.push('start');
    await untilAborted(signal);
    await new Promise<void>((resolve) => (release = resolve));
    log.push('stopped');
  };
  const terms = leaderTerms({ runners: [slowToStop], logger: silentLogger() });
  const stop = new AbortController();
  const running = terms.runner(stop.signal);
  terms.callbacks.onStartedLeading();
  await flush();
  terms.callbacks.onStoppedLeading('lost');
  terms.callbacks.onStartedLeading();
  await flush();
  assert.deepEqual(log, ['start'], 'the second term has not started while the first drains');
  release?.();
  await flush();
  assert.deepEqual(log, ['start', 'stopped', 'start']);
  stop.abort();
  await flush();
  release?.();
  await running;
});

void test('a leader-only runner failing on its own fails the group', async () => {
  const terms = leaderTerms({
    runners: [
      () => Promise.reject(new Error('writer broke')),
    ],
    logger: silentLogger(),
  });
  const running = terms.runner(new AbortController().signal);
  terms.callbacks.onStartedLeading();
  await assert.rejects(running, /writer broke/);
});
