import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePointInTime, parseRfc3339, type PointInTimeField } from './point-in-time.js';
import { SchedulerError } from './scheduler-error.js';

const FROM = Date.parse('2026-06-15T12:00:00.000Z');

test('parsePointInTime resolves the three forms', () => {
  const cases: Array<[string, string]> = [
    // RFC 3339: any offset, fractional seconds.
    ['2026-12-09T16:09:53+00:00', '2026-12-09T16:09:53.000Z'],
    ['2026-12-09T16:09:53Z', '2026-12-09T16:09:53.000Z'],
    ['2026-12-09T18:09:53+02:00', '2026-12-09T16:09:53.000Z'],
    ['2026-12-09T10:39:53-05:30', '2026-12-09T16:09:53.000Z'],
    ['2026-12-09T16:09:53.5Z', '2026-12-09T16:09:53.500Z'],
    ['2026-12-09T16:09:53.123456789Z', '2026-12-09T16:09:53.123Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['2020-01-01T00:00:00Z', '2020-01-01T00:00:00.000Z'],
    // Go durations, from FROM; negative gives the past.
    ['10s', '2026-06-15T12:00:10.000Z'],
    ['1h30m', '2026-06-15T13:30:00.000Z'],
    ['500ms', '2026-06-15T12:00:00.500Z'],
    ['0s', '2026-06-15T12:00:00.000Z'],
    ['0', '2026-06-15T12:00:00.000Z'],
    ['-1m', '2026-06-15T11:59:00.000Z'],
    ['1000s', '2026-06-15T12:16:40.000Z'],
    // ISO-8601 durations.
    ['PT10S', '2026-06-15T12:00:10.000Z'],
    ['P1DT2H', '2026-06-16T14:00:00.000Z'],
    ['P1W', '2026-06-22T12:00:00.000Z'],
    ['P1Y2M', '2027-08-15T12:00:00.000Z'],
    ['R0/PT5S', '2026-06-15T12:00:05.000Z'],
  ];
  for (const [text, expected] of cases) {
    for (const field of ['due_time', 'ttl'] as const) {
      assert.equal(new Date(parsePointInTime(text, FROM, field)).toISOString(), expected, `${field} ${text}`);
    }
  }
});

test('parsePointInTime errors name the field and the value', () => {
  const cases: Array<[string, PointInTimeField, string]> = [
    ['abc', 'due_time', 'job failed validation: due time format not recognized: "abc"'],
    ['abc', 'ttl', 'job failed validation: ttl format not recognized: "abc"'],
    ['', 'due_time', 'job failed validation: due time format not recognized: ""'],
    [' 10s', 'due_time', 'job failed validation: due time format not recognized: " 10s"'],
    ['10', 'due_time', 'job failed validation: due time format not recognized: "10"'],
    ['2026-13-01T00:00:00Z', 'due_time', 'job failed validation: due time format not recognized: "2026-13-01T00:00:00Z"'],
    ['2026-02-29T00:00:00Z', 'due_time', 'job failed validation: due time format not recognized: "2026-02-29T00:00:00Z"'],
    ['2026-01-01T00:00:60Z', 'due_time', 'job failed validation: due time format not recognized: "2026-01-01T00:00:60Z"'],
    ['2026-01-01 00:00:00Z', 'due_time', 'job failed validation: due time format not recognized: "2026-01-01 00:00:00Z"'],
    ['2026-01-01T00:00:00', 'due_time', 'job failed validation: due time format not recognized: "2026-01-01T00:00:00"'],
    ['R5/PT1S', 'due_time', 'job failed validation: repeats not supported for due time: "R5/PT1S"'],
    ['R5/PT1S', 'ttl', 'job failed validation: ttl format not recognized: "R5/PT1S" (repeats not supported for ttl)'],
  ];
  for (const [text, field, message] of cases) {
    assert.throws(
      () => parsePointInTime(text, FROM, field),
      (err: unknown) => err instanceof SchedulerError && err.code === 'job_validation' && err.message === message,
      `${field} ${JSON.stringify(text)}`,
    );
  }
});

test('parseRfc3339 handles years before 100 without remapping', () => {
  assert.equal(new Date(parseRfc3339('0050-01-01T00:00:00Z') ?? NaN).getUTCFullYear(), 50);
});
