import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKETS, decodeJob, decodeState, dueKey, dueMsText, encodeJob, encodeState, parseDueKey, type JobRecord, type StateRecord } from './records.js';

const PREFIX = 'tsdapr/scheduler/';

void test('due keys round-trip through parseDueKey, names with || and odd characters included', { timeout: 5000 }, () => {
  for (const [dueMs, bucket, composed] of [
    [0, 0, 'app||default||a||j'],
    [1_764_000_000_123, 255, 'actorreminder||ns||T||id||with||bars||name'],
    [253_402_300_799_000, 17, 'app||default||a||名前 with spaces'],
  ] as const) {
    const key = dueKey(PREFIX, dueMs, bucket, composed);
    assert.deepEqual(parseDueKey(PREFIX, key), { dueMs, bucket, composed });
  }
});

void test('due keys sort in time order as bytes, whatever the bucket and name', { timeout: 5000 }, () => {
  const keys = [
    dueKey(PREFIX, 999, 255, 'zzz'),
    dueKey(PREFIX, 1000, 0, 'aaa'),
    dueKey(PREFIX, 10_000, 3, 'b'),
    dueKey(PREFIX, 1_764_000_000_000, 1, 'a'),
    dueKey(PREFIX, 1_764_000_000_001, 0, 'a'),
  ];
  const bytewise = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(bytewise, keys);
  assert.equal(dueMsText(-5), '000000000000000', 'before 1970 sorts as 0');
  assert.equal(dueMsText(1.9), '000000000000001', 'whole milliseconds');
  assert.equal(dueMsText(1_764_000_000_000).length, 15);
});

void test('parseDueKey refuses keys that are not due keys of the prefix', { timeout: 5000 }, () => {
  assert.equal(parseDueKey(PREFIX, `${PREFIX}jobs/app||default||a||j`), undefined);
  assert.equal(parseDueKey(PREFIX, `other/due/${dueMsText(1)}/00/x`), undefined);
  assert.equal(parseDueKey(PREFIX, `${PREFIX}due/123/00/x`), undefined, 'not fixed width');
  assert.equal(parseDueKey(PREFIX, `${PREFIX}due/${dueMsText(1)}/zz/x`), undefined, 'bucket not hex');
  assert.equal(parseDueKey(PREFIX, `${PREFIX}due/${dueMsText(1)}/00/`), undefined, 'no name');
  assert.ok(BUCKETS <= 256, 'a bucket fits two hex digits');
});

void test('job and state records round-trip, data byte for byte', { timeout: 5000 }, () => {
  const value = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]);
  const job: JobRecord = {
    uid: 'abcd',
    bucket: 200,
    metadata: { appId: 'a', namespace: 'default', target: { kind: 'actor', type: 'T', id: 'i||d' } },
    spec: { schedule: '@every 1s', repeats: 3, dueTime: '10s', ttl: '1h', data: { typeUrl: 'type.googleapis.com/x', value }, failurePolicy: { kind: 'constant', intervalMs: 1500, maxRetries: 2 } },
    plan: { beginMs: 1000, beginFires: true, expirationMs: 3_601_000, schedule: '@every 1s', repeats: 3 },
    failurePolicy: { kind: 'constant', intervalMs: 1500, maxRetries: 2 },
  };
  const decoded = decodeJob(encodeJob(job));
  assert.deepEqual(decoded, job);
  assert.ok(Buffer.isBuffer(decoded.spec.data?.value));
  const noData: JobRecord = { ...job, spec: { dueTime: '0s' } };
  assert.deepEqual(decodeJob(encodeJob(noData)), noData);
  const state: StateRecord = { uid: 'abcd', count: 2, lastMs: 5000, attempts: 1, tickMs: 6000, dueMs: 7500, dueKey: dueKey(PREFIX, 7500, 200, 'x') };
  assert.deepEqual(decodeState(encodeState(state)), state);
});
