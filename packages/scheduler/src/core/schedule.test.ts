import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedule } from './schedule.js';
import { SchedulerError } from './scheduler-error.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The first `n` instants after `from`, each computed from the previous one. */
function run(spec: string, from: string, n: number): Array<string | undefined> {
  const schedule = parseSchedule(spec);
  const out: Array<string | undefined> = [];
  let last = at(from);
  for (let i = 0; i < n; i++) {
    const next = schedule.next(last);
    out.push(iso(next));
    if (next === undefined) break;
    last = next;
  }
  return out;
}

test('six-field cron specs, seconds first, evaluated in UTC', () => {
  const cases: Array<[string, string, string[]]> = [
    // Strictly after: an instant on the grid is not returned again.
    ['*/2 * * * * *', '2026-01-01T00:00:01.500Z', ['2026-01-01T00:00:02.000Z', '2026-01-01T00:00:04.000Z', '2026-01-01T00:00:06.000Z']],
    ['*/2 * * * * *', '2026-01-01T00:00:02.000Z', ['2026-01-01T00:00:04.000Z']],
    ['* * * * * *', '2026-01-01T00:00:00.999Z', ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z']],
    ['0,30 * * * * *', '2026-01-01T00:00:00.000Z', ['2026-01-01T00:00:30.000Z', '2026-01-01T00:01:00.000Z']],
    ['10-30/10 * * * * *', '2026-01-01T00:00:00.000Z', ['2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z', '2026-01-01T00:00:30.000Z', '2026-01-01T00:01:10.000Z']],
    // `n/step` runs from n to the end of the field.
    ['5/20 * * * * *', '2026-01-01T00:00:05.000Z', ['2026-01-01T00:00:25.000Z', '2026-01-01T00:00:45.000Z', '2026-01-01T00:01:05.000Z']],
    ['0 0 9 * * *', '2026-01-01T00:00:00.000Z', ['2026-01-01T09:00:00.000Z', '2026-01-02T09:00:00.000Z']],
    ['0 15 10 1 * *', '2026-01-01T10:15:00.000Z', ['2026-02-01T10:15:00.000Z']],
    // `?` is `*`.
    ['0 0 0 ? * ?', '2026-01-01T00:00:00.000Z', ['2026-01-02T00:00:00.000Z']],
    // Feb 29 fires in leap years only, even more than five years ahead.
    ['0 0 0 29 2 *', '2097-01-01T00:00:00.000Z', ['2104-02-29T00:00:00.000Z']],
  ];
  for (const [spec, from, expected] of cases) assert.deepEqual(run(spec, from, expected.length), expected, spec);
});

test('month and day names, any case', () => {
  const cases: Array<[string, string, string[]]> = [
    ['0 0 0 * jan-mar sun', '2026-01-01T00:00:00.000Z', ['2026-01-04T00:00:00.000Z', '2026-01-11T00:00:00.000Z']],
    ['0 0 0 1 FEB *', '2026-01-01T00:00:00.000Z', ['2026-02-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z']],
    ['0 0 0 * * MON-fri', '2026-01-02T00:00:00.000Z', ['2026-01-05T00:00:00.000Z', '2026-01-06T00:00:00.000Z']],
    ['0 0 12 * * sat,Sun', '2026-01-01T00:00:00.000Z', ['2026-01-03T12:00:00.000Z', '2026-01-04T12:00:00.000Z', '2026-01-10T12:00:00.000Z']],
    ['0 0 0 1 dec-jan/1 *', '2026-01-05T00:00:00.000Z', []],
  ];
  for (const [spec, from, expected] of cases) {
    if (expected.length === 0) assert.throws(() => parseSchedule(spec), SchedulerError, spec);
    else assert.deepEqual(run(spec, from, expected.length), expected, spec);
  }
});

test('day of month and day of week combine as in classic cron', () => {
  // 2026-01-01 is a Thursday; 5 and 12 January are Mondays.
  const cases: Array<[string, string, string[]]> = [
    // Both restricted: either may match.
    ['0 0 0 15 * mon', '2026-01-01T00:00:00.000Z', ['2026-01-05T00:00:00.000Z', '2026-01-12T00:00:00.000Z', '2026-01-15T00:00:00.000Z', '2026-01-19T00:00:00.000Z']],
    // One of them `*` or `?`: both must match, i.e. the other decides.
    ['0 0 0 * * mon', '2026-01-01T00:00:00.000Z', ['2026-01-05T00:00:00.000Z', '2026-01-12T00:00:00.000Z']],
    ['0 0 0 ? * mon', '2026-01-01T00:00:00.000Z', ['2026-01-05T00:00:00.000Z', '2026-01-12T00:00:00.000Z']],
    ['0 0 0 15 * ?', '2026-01-01T00:00:00.000Z', ['2026-01-15T00:00:00.000Z', '2026-02-15T00:00:00.000Z']],
    // A step above 1 makes `*` a restriction; `*/1` stays a wildcard.
    ['0 0 0 */10 * mon', '2026-01-05T00:00:00.000Z', ['2026-01-11T00:00:00.000Z', '2026-01-12T00:00:00.000Z']],
    ['0 0 0 */1 * mon', '2026-01-05T00:00:00.000Z', ['2026-01-12T00:00:00.000Z']],
  ];
  for (const [spec, from, expected] of cases) assert.deepEqual(run(spec, from, expected.length), expected, spec);
});

test('descriptors are their six-field equivalents', () => {
  // 2026-06-15T10:20:30Z is a Monday.
  const from = '2026-06-15T10:20:30.000Z';
  const cases: Array<[string, string]> = [
    ['@yearly', '2027-01-01T00:00:00.000Z'],
    ['@annually', '2027-01-01T00:00:00.000Z'],
    ['@monthly', '2026-07-01T00:00:00.000Z'],
    ['@weekly', '2026-06-21T00:00:00.000Z'],
    ['@daily', '2026-06-16T00:00:00.000Z'],
    ['@midnight', '2026-06-16T00:00:00.000Z'],
    ['@hourly', '2026-06-15T11:00:00.000Z'],
  ];
  for (const [spec, expected] of cases) {
    const schedule = parseSchedule(spec);
    assert.equal(schedule.text, spec);
    assert.equal(schedule.kind, 'cron');
    assert.equal(iso(schedule.next(at(from))), expected, spec);
  }
});

test('time zone prefixes', () => {
  const cases: Array<[string, string, string]> = [
    ['TZ=America/New_York 0 0 9 * * *', '2026-01-01T00:00:00.000Z', '2026-01-01T14:00:00.000Z'],
    ['TZ=America/New_York 0 0 9 * * *', '2026-06-01T00:00:00.000Z', '2026-06-01T13:00:00.000Z'],
    ['CRON_TZ=Asia/Tokyo 0 0 9 * * *', '2026-01-01T01:00:00.000Z', '2026-01-02T00:00:00.000Z'],
    ['TZ=UTC 0 0 9 * * *', '2026-01-01T00:00:00.000Z', '2026-01-01T09:00:00.000Z'],
    ['TZ=Europe/Paris @daily', '2026-01-01T12:00:00.000Z', '2026-01-01T23:00:00.000Z'],
    ['TZ=Europe/Paris   @daily', '2026-07-01T12:00:00.000Z', '2026-07-01T22:00:00.000Z'],
    // No prefix: UTC, whatever the process's zone.
    ['0 0 9 * * *', '2026-01-01T00:00:00.000Z', '2026-01-01T09:00:00.000Z'],
  ];
  for (const [spec, from, expected] of cases) assert.equal(iso(parseSchedule(spec).next(at(from))), expected, spec);
});

test('@every keeps sub-second precision, in whole milliseconds, at least one', () => {
  const from = at('2026-01-01T00:00:00.000Z');
  const cases: Array<[string, number]> = [
    ['@every 1s', 1000],
    ['@every 500ms', 500],
    ['@every 1h30m', 5_400_000],
    ['@every 1.5s', 1500],
    ['@every 2.7ms', 2],
    ['@every 0s', 1],
    ['@every 0', 1],
    ['@every 500us', 1],
  ];
  for (const [spec, delta] of cases) {
    const schedule = parseSchedule(spec);
    assert.equal(schedule.kind, 'every');
    assert.equal(schedule.next(from), from + delta, spec);
    assert.equal(schedule.next(from + 123), from + 123 + delta, spec);
  }
});

test('invalid schedules are refused with job_validation errors naming the problem', () => {
  const cases: Array<[string, string]> = [
    ['', 'job failed validation: empty spec string'],
    ['0 0 * * *', 'expected exactly 6 fields, found 5: [0 0 * * *]'],
    ['0 0 0 * * * 2026', 'expected exactly 6 fields, found 7: [0 0 0 * * * 2026]'],
    [' @daily', 'expected exactly 6 fields, found 1: [@daily]'],
    ['PT1M', 'expected exactly 6 fields, found 1: [PT1M]'],
    ['R5/PT1M', 'expected exactly 6 fields, found 1: [R5/PT1M]'],
    ['60 * * * * *', 'end of range (60) above maximum (59): 60'],
    ['0 0 24 * * *', 'end of range (24) above maximum (23): 24'],
    ['0 0 0 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['0 0 0 * 13 *', 'end of range (13) above maximum (12): 13'],
    ['0 0 0 * * 7', 'end of range (7) above maximum (6): 7'],
    ['5-1 * * * * *', 'beginning of range (5) beyond end of range (1): 5-1'],
    ['*/0 * * * * *', 'step of range should be a positive number: */0'],
    ['1/2/3 * * * * *', 'too many slashes: 1/2/3'],
    ['1-2-3 * * * * *', 'too many hyphens: 1-2-3'],
    ['a * * * * *', 'failed to parse int from "a" in the second field'],
    ['0 0 0 * * jan', 'failed to parse int from "jan" in the day of week field'],
    ['0 0 0 L * *', 'failed to parse int from "L" in the day of month field'],
    ['0 0 0 1W * *', 'failed to parse int from "1W" in the day of month field'],
    ['0 0 0 * * mon#2', 'failed to parse int from "mon#2" in the day of week field'],
    ['0 0 0 30 2 *', 'schedule never fires'],
    ['0 0 0 31 4,6,9,11 *', 'schedule never fires'],
    ['@reboot', 'unrecognized descriptor: @reboot'],
    ['@daily ', 'unrecognized descriptor: @daily '],
    ['@every', 'unrecognized descriptor: @every'],
    ['@every ', 'failed to parse duration ""'],
    ['@every 1', 'failed to parse duration "1"'],
    ['@every 1d', 'failed to parse duration "1d"'],
    ['@every -1s', '@every needs a duration of zero or more, got "-1s"'],
    ['TZ=UTC', 'timezone prefix is not followed by a schedule'],
    ['TZ=UTC ', 'timezone prefix is not followed by a schedule'],
    ['CRON_TZ=Europe/Paris   ', 'timezone prefix is not followed by a schedule'],
    ['TZ=Mars/Olympus 0 * * * * *', 'provided bad location "Mars/Olympus": unknown time zone'],
    ['TZ=+01:00 0 * * * * *', 'provided bad location "+01:00": unknown time zone'],
    ['TZ=UTC @every 1s', 'a timezone prefix cannot be used with @every'],
    ['TZ=UTC 0 0 * * *', 'expected exactly 6 fields, found 5: [0 0 * * *]'],
  ];
  for (const [spec, message] of cases) {
    assert.throws(
      () => parseSchedule(spec),
      (err: unknown) => err instanceof SchedulerError && err.code === 'job_validation' && err.message.startsWith('job failed validation: ') && err.message.includes(message),
      `${JSON.stringify(spec)} should fail with ${message}`,
    );
  }
});

test('the submitted text is kept as is', () => {
  for (const spec of ['TZ=Europe/Paris 0 0 9 * * *', '@every 1h30m', '*/2 * * * * *']) assert.equal(parseSchedule(spec).text, spec);
});
