import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './duration.js';

test('parseDuration reads Go durations', () => {
  const cases: Array<[string, number]> = [
    ['24h', 86_400_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['0', 0],
    ['-2s', -2000],
    ['8760h', 31_536_000_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration rejects what Go rejects, naming the input', () => {
  for (const text of ['', '10', 'h', '5d', '1h 30m', 'abc', '-']) {
    assert.throws(() => parseDuration(text), (err: Error) => err.message.includes(`"${text}"`), text);
  }
});

test('formatDuration prints Go style', () => {
  assert.equal(formatDuration(86_400_000), '24h0m0s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(0), '0s');
});
