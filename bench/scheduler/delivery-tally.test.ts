import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryTally } from './delivery-tally.js';
import { jobName } from './job-plan.js';

test('first deliveries give lateness; repeats count as duplicates', () => {
  const tally = new DeliveryTally(4, 2);
  tally.expect(0, 1000);
  tally.expect(1, 2000);
  tally.expect(2, 3000);
  assert.equal(tally.expectedCount, 3);
  assert.equal(tally.record({ dueMs: 1000, index: 0 }, jobName(0), 0, 1012), 'first');
  assert.equal(tally.record({ dueMs: 2000, index: 1 }, jobName(1), 1, 2003), 'first');
  assert.equal(tally.record({ dueMs: 1000, index: 0 }, jobName(0), 0, 1500), 'duplicate');
  assert.equal(tally.received, 2);
  assert.equal(tally.duplicates, 1);
  assert.equal(tally.lateness[0], 12);
  assert.equal(tally.lateness[1], 3);
  assert.ok(Number.isNaN(tally.lateness[2]!));
  assert.equal(tally.missing, 1);
  assert.equal(tally.complete, false);
  assert.deepEqual(tally.missingIndices(10), [2]);
  assert.equal(tally.lastReceivedAt, 2003);
});

test('early, misrouted, unexpected and foreign triggers are counted apart', () => {
  const tally = new DeliveryTally(4, 2);
  tally.expect(0, 1000);
  tally.expect(1, 1000);
  tally.expect(1, 9999); // a second expect changes nothing
  assert.equal(tally.expectedCount, 2);
  assert.equal(tally.record({ dueMs: 1000, index: 0 }, jobName(0), 0, 990), 'first');
  assert.equal(tally.early, 1);
  assert.equal(tally.record({ dueMs: 1000, index: 1 }, jobName(1), 0, 1001), 'first');
  assert.equal(tally.misrouted, 1);
  assert.equal(tally.record({ dueMs: 1000, index: 3 }, jobName(3), 1, 1001), 'unexpected');
  assert.equal(tally.record(undefined, 'x', 0, 1), 'foreign');
  assert.equal(tally.record({ dueMs: 1000, index: 9 }, jobName(9), 1, 1), 'foreign');
  assert.equal(tally.record({ dueMs: 1000, index: 0 }, jobName(1), 0, 1), 'foreign');
  assert.equal(tally.record({ dueMs: 1234, index: 1 }, jobName(1), 1, 1), 'foreign');
  assert.equal(tally.unexpected, 1);
  assert.equal(tally.foreign, 4);
  assert.equal(tally.complete, true);
  assert.equal(tally.missing, 0);
});

test('a failed ScheduleJob retracts its expectation, unless its trigger came already', () => {
  const tally = new DeliveryTally(3, 1);
  tally.expect(0, 100);
  tally.expect(1, 100);
  tally.expect(2, 100);
  assert.equal(tally.record({ dueMs: 100, index: 2 }, jobName(2), 0, 101), 'first');
  tally.retract(1);
  tally.retract(2);
  tally.retract(2);
  assert.equal(tally.expectedCount, 2);
  assert.equal(tally.record({ dueMs: 100, index: 1 }, jobName(1), 0, 101), 'unexpected');
  assert.equal(tally.missing, 1);
  assert.deepEqual(tally.missingIndices(5), [0]);
});
