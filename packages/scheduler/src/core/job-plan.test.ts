import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FAILURE_POLICY, type FailurePolicy, type JobPlan, type JobSpec } from './job-model.js';
import { planJob } from './job-plan.js';
import { SchedulerError } from './scheduler-error.js';

// 250 ms into a second: creation instants count from the whole second.
const NOW = Date.parse('2026-06-15T12:00:00.250Z');
const SECOND = Date.parse('2026-06-15T12:00:00.000Z');

test('planJob resolves instants', () => {
  const cases: Array<[string, JobSpec, JobPlan]> = [
    ['one-shot relative', { dueTime: '10s' }, { beginMs: SECOND + 10_000, beginFires: true }],
    ['one-shot absolute', { dueTime: '2026-12-09T16:09:53+00:00' }, { beginMs: Date.parse('2026-12-09T16:09:53Z'), beginFires: true }],
    ['one-shot in the past', { dueTime: '-1h' }, { beginMs: SECOND - 3_600_000, beginFires: true }],
    ['one-shot repeats 1', { dueTime: '0s', repeats: 1 }, { beginMs: SECOND, beginFires: true, repeats: 1 }],
    ['schedule only', { schedule: '@every 1s', repeats: 3 }, { beginMs: SECOND, beginFires: false, schedule: '@every 1s', repeats: 3 }],
    ['ttl from now', { schedule: '@every 1s', ttl: '5s' }, { beginMs: SECOND, beginFires: false, expirationMs: SECOND + 5000, schedule: '@every 1s' }],
    ['ttl from due time', { schedule: '@every 1s', dueTime: '10s', ttl: 'PT5S' }, { beginMs: SECOND + 10_000, beginFires: true, expirationMs: SECOND + 15_000, schedule: '@every 1s' }],
    ['absolute ttl', { schedule: '@hourly', ttl: '2027-01-01T00:00:00Z' }, { beginMs: SECOND, beginFires: false, expirationMs: Date.parse('2027-01-01T00:00:00Z'), schedule: '@hourly' }],
    ['ttl equal to due time', { schedule: '@every 1s', dueTime: '2026-07-01T00:00:00Z', ttl: '2026-07-01T00:00:00Z' }, { beginMs: Date.parse('2026-07-01T00:00:00Z'), beginFires: true, expirationMs: Date.parse('2026-07-01T00:00:00Z'), schedule: '@every 1s' }],
  ];
  for (const [name, spec, expected] of cases) assert.deepEqual(planJob(spec, NOW).plan, expected, name);
});

test('planJob defaults the failure policy and keeps a given one', () => {
  const cases: Array<[FailurePolicy | undefined, FailurePolicy]> = [
    [undefined, DEFAULT_FAILURE_POLICY],
    [{ kind: 'drop' }, { kind: 'drop' }],
    [{ kind: 'constant', intervalMs: 0, maxRetries: 3 }, { kind: 'constant', intervalMs: 0, maxRetries: 3 }],
    [{ kind: 'constant', intervalMs: 1000 }, { kind: 'constant', intervalMs: 1000 }],
  ];
  for (const [given, expected] of cases) {
    const spec: JobSpec = given === undefined ? { dueTime: '1s' } : { dueTime: '1s', failurePolicy: given };
    assert.deepEqual(planJob(spec, NOW).failurePolicy, expected);
  }
  assert.deepEqual(DEFAULT_FAILURE_POLICY, { kind: 'constant', intervalMs: 1000, maxRetries: 3 });
});

test('planJob returns the parsed schedule', () => {
  assert.equal(planJob({ dueTime: '1s' }, NOW).schedule, undefined);
  assert.equal(planJob({ schedule: '@every 2s' }, NOW).schedule?.next(0), 2000);
});

test('planJob refuses invalid jobs, in upstream order', () => {
  const cases: Array<[JobSpec, string]> = [
    [{}, 'job must have either a due time or a schedule'],
    [{ repeats: 3 }, 'job must have either a due time or a schedule'],
    [{ dueTime: '1s', repeats: 2 }, 'job must have a schedule to repeat'],
    [{ dueTime: '1s', repeats: 0 }, 'defined repeats must be greater than 0'],
    [{ schedule: '@every 1s', repeats: 0 }, 'defined repeats must be greater than 0'],
    [{ schedule: '@every 1s', repeats: 1.5 }, 'repeats must be an integer from 1 to 4294967295, got 1.5'],
    [{ schedule: '@every 1s', repeats: 2 ** 32 }, 'repeats must be an integer from 1 to 4294967295, got 4294967296'],
    [{ dueTime: '1s', ttl: '10s' }, 'job must have a schedule to have a ttl'],
    // An empty schedule is present, and fails to parse.
    [{ schedule: '', dueTime: '1s' }, 'empty spec string'],
    [{ schedule: '0 0 * * *' }, 'expected exactly 6 fields, found 5: [0 0 * * *]'],
    [{ schedule: '@every 1s', dueTime: 'soon' }, 'due time format not recognized: "soon"'],
    [{ dueTime: 'R3/PT1S' }, 'repeats not supported for due time: "R3/PT1S"'],
    [{ schedule: '@every 1s', ttl: 'forever' }, 'ttl format not recognized: "forever"'],
    [{ schedule: '@every 1s', dueTime: '10s', ttl: '-1s' }, 'ttl must be greater than due time'],
    [{ schedule: '@every 1s', dueTime: '2026-07-01T00:00:01Z', ttl: '2026-07-01T00:00:00Z' }, 'ttl must be greater than due time'],
    [{ dueTime: '1s', failurePolicy: { kind: 'constant', intervalMs: -1 } }, 'failure policy interval must not be negative, got -1ms'],
    [{ dueTime: '1s', failurePolicy: { kind: 'constant', intervalMs: 1, maxRetries: -1 } }, 'failure policy max retries must be an integer'],
    // The schedule is checked before the due time.
    [{ schedule: 'bad', dueTime: 'bad' }, 'expected exactly 6 fields, found 1: [bad]'],
  ];
  for (const [spec, reason] of cases) {
    assert.throws(
      () => planJob(spec, NOW),
      (err: unknown) => err instanceof SchedulerError && err.code === 'job_validation' && err.message.startsWith(`job failed validation: ${reason}`),
      `${JSON.stringify(spec)} should fail with ${reason}`,
    );
  }
});

test('a ttl before creation is allowed without a due time (the job just never fires)', () => {
  assert.deepEqual(planJob({ schedule: '@every 1s', ttl: '-1s' }, NOW).plan.expirationMs, SECOND - 1000);
});
