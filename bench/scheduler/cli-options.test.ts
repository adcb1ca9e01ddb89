import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBenchOptions, UsageError, warmupCount } from './cli-options.js';

test('defaults', () => {
  const o = parseBenchOptions([]);
  assert.equal(o.target, undefined);
  assert.deepEqual(o.jobs, [10_000, 100_000]);
  assert.equal(o.apps, 10);
  assert.equal(o.streamsPerApp, 3);
  assert.equal(o.concurrency, 64);
  assert.equal(o.spreadMs, 60_000);
  assert.equal(o.leadMs, 30_000);
  assert.equal(o.timeoutMs, 600_000);
  assert.equal(o.etcdBaseline, true);
  assert.equal(o.etcdFsync, false);
});

test('flags in both spellings; unknown flags (meant for other benches) are ignored', () => {
  const o = parseBenchOptions(['--target', '127.0.0.1:50006', '--target-pid=4242', '--jobs', '10_000', '--spread', '1.5', '--sizes', '100', '--no-etcd-baseline']);
  assert.equal(o.target, '127.0.0.1:50006');
  assert.equal(o.targetPid, 4242);
  assert.deepEqual(o.jobs, [10_000]);
  assert.equal(o.spreadMs, 1500);
  assert.equal(o.etcdBaseline, false);
  assert.equal(parseBenchOptions(['--target', '[::1]:50006']).target, '[::1]:50006');
});

test('bad values are usage errors', () => {
  assert.throws(() => parseBenchOptions(['--target', 'http://x:1']), UsageError);
  assert.throws(() => parseBenchOptions(['--jobs', '10,abc']), UsageError);
  assert.throws(() => parseBenchOptions(['--jobs', '0']), UsageError);
  assert.throws(() => parseBenchOptions(['--concurrency', '0']), UsageError);
  assert.throws(() => parseBenchOptions(['--apps', '2.5']), UsageError);
  assert.throws(() => parseBenchOptions(['--timeout', '-1']), UsageError);
});

test('warm-up size: 2% of N within 200..2,000, never above N, or as given', () => {
  assert.equal(warmupCount({ warmup: undefined }, 10_000), 200);
  assert.equal(warmupCount({ warmup: undefined }, 50_000), 1000);
  assert.equal(warmupCount({ warmup: undefined }, 1_000_000), 2000);
  assert.equal(warmupCount({ warmup: undefined }, 50), 50);
  assert.equal(warmupCount({ warmup: 0 }, 10_000), 0);
});
