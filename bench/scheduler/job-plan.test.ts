import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobName, planJobs, rfc3339, seededRandom, shuffledRange, windowStartFor } from './job-plan.js';

test('the seeded PRNG repeats for a seed and stays in [0, 1)', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const first = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(first, Array.from({ length: 1000 }, () => b()));
  assert.notDeepEqual(first.slice(0, 10), Array.from({ length: 10 }, () => c()));
  assert.ok(first.every((x) => x >= 0 && x < 1));
});

test('shuffledRange is a permutation, deterministic, not the identity', () => {
  const order = shuffledRange(1000, 7);
  assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(order, shuffledRange(1000, 7));
  assert.ok(order.some((v, i) => v !== i));
});

test('10,000 jobs over 10 apps in 60 s: uniform slots, each app its tenth, all inside the window', () => {
  const jobs = planJobs(10_000, 10, 60_000);
  assert.equal(jobs.length, 10_000);
  const offsets = jobs.map((j) => j.offsetMs).sort((x, y) => x - y);
  assert.ok(offsets[0]! >= 0 && offsets.at(-1)! < 60_000);
  // 6 ms apart, slot centres at 3, 9, 15, ...
  assert.equal(offsets[0], 3);
  assert.equal(offsets[1], 9);
  assert.equal(offsets.at(-1), 59_997);
  // Each second of the window holds the same number of jobs.
  const perSecond = new Array<number>(60).fill(0);
  for (const o of offsets) perSecond[Math.floor(o / 1000)]!++;
  assert.ok(perSecond.every((count) => Math.abs(count - 10_000 / 60) <= 1), perSecond.join(','));
  const perApp = new Array<number>(10).fill(0);
  for (const j of jobs) perApp[j.app]!++;
  assert.deepEqual(perApp, new Array<number>(10).fill(1000));
  assert.equal(new Set(jobs.map((j) => j.name)).size, 10_000);
});

test('the schedule order is not the due order, and a plan is repeatable', () => {
  const jobs = planJobs(1000, 3, 60_000, 5);
  const ascending = jobs.every((j, i) => i === 0 || j.offsetMs >= jobs[i - 1]!.offsetMs);
  assert.equal(ascending, false);
  assert.deepEqual(jobs, planJobs(1000, 3, 60_000, 5));
});

test('more jobs than ms in the window still fit inside it', () => {
  const jobs = planJobs(5000, 1, 1000);
  assert.ok(jobs.every((j) => j.offsetMs >= 0 && j.offsetMs < 1000));
});

test('bad arguments are refused', () => {
  assert.throws(() => planJobs(-1, 1, 1000));
  assert.throws(() => planJobs(10, 0, 1000));
  assert.throws(() => planJobs(10, 1, 0));
  assert.deepEqual(planJobs(0, 1, 1000), []);
});

test('names are fixed-width and valid under the old DNS-1123 rule too', () => {
  assert.equal(jobName(42), 'job-0000042');
  assert.match(jobName(1_234_567), /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
});

test('due times are RFC 3339 in UTC with milliseconds', () => {
  assert.equal(rfc3339(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), '2026-01-02T03:04:05.678Z');
});

test('the window starts after the expected scheduling time plus the lead', () => {
  // 10,000 jobs at 1,000/s: 10 s, x1.1 margin = 11 s, + 30 s lead.
  assert.equal(windowStartFor(1_000_000, 10_000, 1000, 30_000), 1_000_000 + 11_000 + 30_000);
  // An unknown rate counts as 1 job/s rather than dividing by zero.
  assert.equal(windowStartFor(0, 10, 0, 0, 1), 10_000);
});
