import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addIso8601Duration, parseIso8601Duration, type Iso8601Duration } from './iso8601-duration.js';

const H = 3_600_000;

test('parseIso8601Duration accepts durations and repetitions', () => {
  const cases: Array<[string, Iso8601Duration]> = [
    ['PT10S', { years: 0, months: 0, days: 0, timeMs: 10_000 }],
    ['PT1M', { years: 0, months: 0, days: 0, timeMs: 60_000 }],
    ['P1M', { years: 0, months: 1, days: 0, timeMs: 0 }],
    ['P1DT2H', { years: 0, months: 0, days: 1, timeMs: 2 * H }],
    ['P1W', { years: 0, months: 0, days: 7, timeMs: 0 }],
    ['P1W2D', { years: 0, months: 0, days: 9, timeMs: 0 }],
    ['P1Y2M', { years: 1, months: 2, days: 0, timeMs: 0 }],
    ['P1Y2M3DT4H5M6S', { years: 1, months: 2, days: 3, timeMs: 4 * H + 5 * 60_000 + 6000 }],
    ['PT36H', { years: 0, months: 0, days: 0, timeMs: 36 * H }],
    ['PT0S', { years: 0, months: 0, days: 0, timeMs: 0 }],
    ['R5/PT1S', { years: 0, months: 0, days: 0, timeMs: 1000, repetitions: 5 }],
    ['R0/PT1S', { years: 0, months: 0, days: 0, timeMs: 1000, repetitions: 0 }],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseIso8601Duration(text), expected, text);
});

test('parseIso8601Duration refuses what is not a duration', () => {
  const bad = ['', 'P', 'PT', 'P1DT', 'T1S', '10s', 'PT1.5S', 'P-1D', 'PT1S ', ' PT1S', 'pt1s', 'P1S', 'PT1D', 'P1M1Y', 'R5', 'R/PT1S', 'Rx/PT1S', 'R5/', 'P1H'];
  for (const text of bad) assert.equal(parseIso8601Duration(text), undefined, text);
});

test('addIso8601Duration adds calendar parts in UTC, then time', () => {
  const at = (iso: string): number => Date.parse(iso);
  const cases: Array<[string, string, string]> = [
    ['2026-01-15T10:00:00Z', 'P1DT2H', '2026-01-16T12:00:00.000Z'],
    ['2026-01-31T00:00:00Z', 'P1M', '2026-03-03T00:00:00.000Z'],
    ['2024-02-29T00:00:00Z', 'P1Y', '2025-03-01T00:00:00.000Z'],
    ['2026-11-30T00:00:00Z', 'P2M', '2027-01-30T00:00:00.000Z'],
    ['2026-03-28T12:00:00Z', 'P1W', '2026-04-04T12:00:00.000Z'],
    ['2026-01-01T00:00:00.250Z', 'PT90M', '2026-01-01T01:30:00.250Z'],
  ];
  for (const [from, text, expected] of cases) {
    const duration = parseIso8601Duration(text);
    assert.ok(duration, text);
    assert.equal(new Date(addIso8601Duration(at(from), duration)).toISOString(), expected, `${from} + ${text}`);
  }
});
