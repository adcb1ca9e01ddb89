import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FAILURE_POLICY, type FailurePolicy, type JobPlan, type TickState } from './job-model.js';
import { planJob } from './job-plan.js';
import { parseSchedule } from './schedule.js';
import { afterOutcome, firstTick, type TriggerOutcome } from './ticks.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

interface Delivery {
  /** When the attempt was due. */
  readonly due: string;
  /** The scheduled time of its tick. */
  readonly tick: string;
  readonly attempts: number;
}

/**
 * Drives a job through outcomes, returning every attempt delivered and
 * whether the job finished. Nothing here reads a clock.
 */
function drive(plan: JobPlan, policy: FailurePolicy, outcomes: (i: number) => TriggerOutcome, limit = 50): { deliveries: Delivery[]; finished: boolean } {
  const schedule = plan.schedule === undefined ? undefined : parseSchedule(plan.schedule);
  const deliveries: Delivery[] = [];
  let state: TickState | undefined = firstTick(plan, schedule);
  for (let i = 0; state !== undefined && i < limit; i++) {
    deliveries.push({ due: iso(state.dueMs), tick: iso(state.tickMs), attempts: state.attempts });
    state = afterOutcome(plan, schedule, policy, state, outcomes(i));
  }
  return { deliveries, finished: state === undefined };
}

const succeed = (): TriggerOutcome => 'success';
const fail = (): TriggerOutcome => 'failed';
const dues = (r: { deliveries: Delivery[] }): string[] => r.deliveries.map((d) => d.due);

test('tick sequences', () => {
  const cases: Array<{ name: string; plan: JobPlan; expected: string[]; finished: boolean }> = [
    {
      name: 'one-shot fires once at its due time',
      plan: planJob({ dueTime: '10s' }, T0).plan,
      expected: ['2026-01-01T00:00:10.000Z'],
      finished: true,
    },
    {
      name: 'one-shot due in the past still fires (once)',
      plan: planJob({ dueTime: '-1h' }, T0).plan,
      expected: ['2025-12-31T23:00:00.000Z'],
      finished: true,
    },
    {
      name: '@every 1s with repeats 3: first tick strictly after creation',
      plan: planJob({ schedule: '@every 1s', repeats: 3 }, T0).plan,
      expected: ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z'],
      finished: true,
    },
    {
      name: 'creation counts from the whole second',
      plan: planJob({ schedule: '@every 1s', repeats: 2 }, T0 + 700).plan,
      expected: ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z'],
      finished: true,
    },
    {
      name: 'cron on even seconds',
      plan: planJob({ schedule: '*/2 * * * * *', repeats: 3 }, T0 + 1000).plan,
      expected: ['2026-01-01T00:00:02.000Z', '2026-01-01T00:00:04.000Z', '2026-01-01T00:00:06.000Z'],
      finished: true,
    },
    {
      name: 'due time + schedule: first at the due time, off the grid, then the schedule after it',
      plan: planJob({ schedule: '*/10 * * * * *', dueTime: '3s', repeats: 3 }, T0).plan,
      expected: ['2026-01-01T00:00:03.000Z', '2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z'],
      finished: true,
    },
    {
      name: 'ttl cuts off ticks strictly after it (a tick at the ttl fires)',
      plan: planJob({ schedule: '@every 1s', ttl: '3s' }, T0).plan,
      expected: ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z'],
      finished: true,
    },
    {
      name: 'ttl counted from the due time',
      plan: planJob({ schedule: '@every 1s', dueTime: '5s', ttl: '1500ms' }, T0).plan,
      expected: ['2026-01-01T00:00:05.000Z', '2026-01-01T00:00:06.000Z'],
      finished: true,
    },
    {
      name: 'first tick beyond the ttl: finished without firing',
      plan: planJob({ schedule: '@hourly', ttl: '10m' }, T0).plan,
      expected: [],
      finished: true,
    },
    {
      name: 'repeats with a ttl: whichever ends first',
      plan: planJob({ schedule: '@every 1s', repeats: 2, ttl: '1h' }, T0).plan,
      expected: ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z'],
      finished: true,
    },
    {
      name: '@every 0s moves forward by a millisecond',
      plan: planJob({ schedule: '@every 0s', repeats: 3 }, T0).plan,
      expected: ['2026-01-01T00:00:00.001Z', '2026-01-01T00:00:00.002Z', '2026-01-01T00:00:00.003Z'],
      finished: true,
    },
    {
      name: 'without an end the job goes on',
      plan: planJob({ schedule: '@daily' }, T0).plan,
      expected: ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z', '2026-01-04T00:00:00.000Z', '2026-01-05T00:00:00.000Z'],
      finished: false,
    },
  ];
  for (const c of cases) {
    const result = drive(c.plan, DEFAULT_FAILURE_POLICY, succeed, c.expected.length);
    assert.deepEqual(dues(result), c.expected, c.name);
    assert.equal(result.finished, c.finished, c.name);
  }
});

test('failure policies', () => {
  const oneShot = planJob({ dueTime: '10s' }, T0).plan;
  const cases: Array<{ name: string; plan: JobPlan; policy: FailurePolicy; outcomes: (i: number) => TriggerOutcome; expected: Delivery[]; finished: boolean }> = [
    {
      name: 'default policy: 4 attempts 1 s apart, then consumed',
      plan: oneShot,
      policy: DEFAULT_FAILURE_POLICY,
      outcomes: fail,
      expected: [0, 1, 2, 3].map((n) => ({ due: iso(T0 + 10_000 + n * 1000), tick: '2026-01-01T00:00:10.000Z', attempts: n })),
      finished: true,
    },
    {
      name: 'drop: one attempt',
      plan: oneShot,
      policy: { kind: 'drop' },
      outcomes: fail,
      expected: [{ due: '2026-01-01T00:00:10.000Z', tick: '2026-01-01T00:00:10.000Z', attempts: 0 }],
      finished: true,
    },
    {
      name: 'constant 0s × 3: four back-to-back attempts',
      plan: oneShot,
      policy: { kind: 'constant', intervalMs: 0, maxRetries: 3 },
      outcomes: fail,
      expected: [0, 1, 2, 3].map((n) => ({ due: '2026-01-01T00:00:10.000Z', tick: '2026-01-01T00:00:10.000Z', attempts: n })),
      finished: true,
    },
    {
      name: 'constant with max_retries 0: one attempt',
      plan: oneShot,
      policy: { kind: 'constant', intervalMs: 5000, maxRetries: 0 },
      outcomes: fail,
      expected: [{ due: '2026-01-01T00:00:10.000Z', tick: '2026-01-01T00:00:10.000Z', attempts: 0 }],
      finished: true,
    },
    {
      name: 'success after a retry consumes the tick',
      plan: oneShot,
      policy: DEFAULT_FAILURE_POLICY,
      outcomes: (i) => (i === 0 ? 'failed' : 'success'),
      expected: [
        { due: '2026-01-01T00:00:10.000Z', tick: '2026-01-01T00:00:10.000Z', attempts: 0 },
        { due: '2026-01-01T00:00:11.000Z', tick: '2026-01-01T00:00:10.000Z', attempts: 1 },
      ],
      finished: true,
    },
    {
      name: 'exhausted retries on a recurring job: next tick from the original tick, retries not counted as ticks',
      plan: planJob({ schedule: '@every 10s', repeats: 2 }, T0).plan,
      policy: { kind: 'constant', intervalMs: 3000, maxRetries: 1 },
      outcomes: (i) => (i < 2 ? 'failed' : 'success'),
      expected: [
        { due: '2026-01-01T00:00:10.000Z', tick: '2026-01-01T00:00:10.000Z', attempts: 0 },
        { due: '2026-01-01T00:00:13.000Z', tick: '2026-01-01T00:00:10.000Z', attempts: 1 },
        { due: '2026-01-01T00:00:20.000Z', tick: '2026-01-01T00:00:20.000Z', attempts: 0 },
      ],
      finished: true,
    },
    {
      name: 'dropped ticks count towards repeats',
      plan: planJob({ schedule: '@every 1s', repeats: 2 }, T0).plan,
      policy: { kind: 'drop' },
      outcomes: fail,
      expected: [
        { due: '2026-01-01T00:00:01.000Z', tick: '2026-01-01T00:00:01.000Z', attempts: 0 },
        { due: '2026-01-01T00:00:02.000Z', tick: '2026-01-01T00:00:02.000Z', attempts: 0 },
      ],
      finished: true,
    },
    {
      name: 'retries are not cut by the ttl',
      plan: planJob({ schedule: '@every 1s', ttl: '1s' }, T0).plan,
      policy: { kind: 'constant', intervalMs: 5000, maxRetries: 1 },
      outcomes: fail,
      expected: [
        { due: '2026-01-01T00:00:01.000Z', tick: '2026-01-01T00:00:01.000Z', attempts: 0 },
        { due: '2026-01-01T00:00:06.000Z', tick: '2026-01-01T00:00:01.000Z', attempts: 1 },
      ],
      finished: true,
    },
  ];
  for (const c of cases) {
    const result = drive(c.plan, c.policy, c.outcomes);
    assert.deepEqual(result.deliveries, c.expected, c.name);
    assert.equal(result.finished, c.finished, c.name);
  }
});

test('constant policy without max_retries retries forever', () => {
  const plan = planJob({ dueTime: '0s' }, T0).plan;
  const result = drive(plan, { kind: 'constant', intervalMs: 1000 }, fail, 1000);
  assert.equal(result.finished, false);
  assert.equal(result.deliveries.length, 1000);
  assert.deepEqual(result.deliveries.at(-1), { due: iso(T0 + 999_000), tick: iso(T0), attempts: 999 });
});

test('missed ticks are replayed from the last scheduled tick', () => {
  // An @every 1s job whose deliveries stalled for an hour: the state knows
  // only scheduled times, so each success yields the next missed second.
  const plan = planJob({ schedule: '@every 1s' }, T0).plan;
  const schedule = parseSchedule('@every 1s');
  let state: TickState | undefined = firstTick(plan, schedule);
  const seen: number[] = [];
  for (let i = 0; i < 3600 && state !== undefined; i++) {
    seen.push(state.tickMs);
    state = afterOutcome(plan, schedule, DEFAULT_FAILURE_POLICY, state, 'success');
  }
  assert.equal(seen.length, 3600);
  assert.deepEqual(seen.slice(0, 3), [T0 + 1000, T0 + 2000, T0 + 3000]);
  assert.equal(seen.at(-1), T0 + 3_600_000);
  assert.deepEqual(state, { count: 3600, lastMs: T0 + 3_600_000, attempts: 0, tickMs: T0 + 3_601_000, dueMs: T0 + 3_601_000 });
});

test('state after each outcome', () => {
  const plan = planJob({ schedule: '@every 1s', repeats: 5 }, T0).plan;
  const base: TickState = { count: 2, lastMs: T0 + 2000, attempts: 1, tickMs: T0 + 3000, dueMs: T0 + 4000 };
  const cases: Array<[string, FailurePolicy, TriggerOutcome, TickState | undefined]> = [
    ['success', DEFAULT_FAILURE_POLICY, 'success', { count: 3, lastMs: T0 + 3000, attempts: 0, tickMs: T0 + 4000, dueMs: T0 + 4000 }],
    ['failed, retry left', DEFAULT_FAILURE_POLICY, 'failed', { count: 2, lastMs: T0 + 2000, attempts: 2, tickMs: T0 + 3000, dueMs: T0 + 5000 }],
    ['failed, drop', { kind: 'drop' }, 'failed', { count: 3, lastMs: T0 + 3000, attempts: 0, tickMs: T0 + 4000, dueMs: T0 + 4000 }],
    ['failed, retries exhausted', { kind: 'constant', intervalMs: 1000, maxRetries: 1 }, 'failed', { count: 3, lastMs: T0 + 3000, attempts: 0, tickMs: T0 + 4000, dueMs: T0 + 4000 }],
    ['success on the last repeat', DEFAULT_FAILURE_POLICY, 'success', undefined],
  ];
  for (const [name, policy, outcome, expected] of cases) {
    const state = name === 'success on the last repeat' ? { ...base, count: 4 } : base;
    assert.deepEqual(afterOutcome(plan, undefined, policy, state, outcome), expected, name);
  }
});
