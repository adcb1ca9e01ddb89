import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@tsdapr/runtime';
import { ManualClock } from './clock.js';
import { leaseElection, type LeaseApi, type LeaseRecord } from './lease-election.js';

class Conflict extends Error {}

/** One Lease with optimistic concurrency, shared by the replicas of a test. */
class FakeLease {
  record: LeaseRecord | undefined;
  resourceVersion = 0;
  writes: string[] = [];

  /** The Lease as one replica sees it; `down()` makes its requests fail (a partition). */
  client(name: string): LeaseApi & { down(value: boolean): void } {
    let isDown = false;
    const check = (): void => {
      if (isDown) throw new Error(`${name}: API server unreachable`);
    };
    return {
      down: (value) => {
        isDown = value;
      },
      get: () => {
        check();
        return Promise.resolve(this.record ? { record: this.record, resourceVersion: String(this.resourceVersion) } : undefined);
      },
      create: (record) => {
        check();
        if (this.record) return Promise.reject(new Conflict('exists'));
        this.write(name, record);
        return Promise.resolve();
      },
      update: (record, resourceVersion) => {
        check();
        if (resourceVersion !== String(this.resourceVersion)) return Promise.reject(new Conflict('stale'));
        this.write(name, record);
        return Promise.resolve();
      },
      isConflict: (err) => err instanceof Conflict,
    };
  }

  private write(by: string, record: LeaseRecord): void {
    this.record = record;
    this.resourceVersion++;
    this.writes.push(`${by}:${record.holderIdentity || '(released)'}`);
  }
}

const timings = { leaseDurationMs: 5000, renewDeadlineMs: 3000, retryPeriodMs: 1000 };

function replica(name: string, lease: FakeLease, clock: ManualClock) {
  const events: string[] = [];
  const api = lease.client(name);
  const controller = new AbortController();
  const runner = leaseElection({
    api,
    identity: name,
    timings,
    clock,
    random: () => 0,
    logger: silentLogger(),
    onStartedLeading: () => events.push('leading'),
    onStoppedLeading: (reason) => events.push(`stopped: ${reason}`),
  });
  const done = runner(controller.signal);
  return { events, api, stop: () => controller.abort(), done };
}

/** Lets the election's promise chains run after the clock moved. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function advance(clock: ManualClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    await flush();
  }
}

void test('the first replica takes the Lease; the second follows while it is renewed', async () => {
  const clock = new ManualClock();
  const lease = new FakeLease();
  const a = replica('a', lease, clock);
  await flush();
  const b = replica('b', lease, clock);
  await advance(clock, 20_000);
  assert.deepEqual(a.events, ['leading']);
  assert.deepEqual(b.events, []);
  assert.equal(lease.record?.holderIdentity, 'a');
  assert.equal(lease.record?.leaseDurationSeconds, 5);
  a.stop();
  b.stop();
  await Promise.all([a.done, b.done]);
});

void test('a crashed leader: the follower takes over one lease duration after it last saw a renewal', async () => {
  const clock = new ManualClock();
  const lease = new FakeLease();
  const a = replica('a', lease, clock);
  await flush();
  const b = replica('b', lease, clock);
  await advance(clock, 2000);
  a.api.down(true); // a can no longer reach the API server (or is gone)
  const lostAt = clock.now();
  await advance(clock, 3000);
  assert.deepEqual(a.events, ['leading', 'stopped: could not renew the lease for 3000ms'], 'the leader steps down at the renew deadline');
  assert.deepEqual(b.events, [], 'before the lease duration has passed, nobody else leads');
  await advance(clock, 4000);
  assert.deepEqual(b.events, ['leading']);
  assert.equal(lease.record?.holderIdentity, 'b');
  assert.equal(lease.record?.leaseTransitions, 1);
  assert.ok(clock.now() - lostAt <= timings.leaseDurationMs + 2 * timings.retryPeriodMs);
  a.stop();
  b.stop();
  await Promise.all([a.done, b.done]);
});

void test('a leader that shuts down releases the Lease; the follower takes it at its next try', async () => {
  const clock = new ManualClock();
  const lease = new FakeLease();
  const a = replica('a', lease, clock);
  await flush();
  const b = replica('b', lease, clock);
  await advance(clock, 3000);
  a.stop();
  await a.done;
  assert.deepEqual(a.events, ['leading', 'stopped: shutting down']);
  assert.equal(lease.record?.holderIdentity, '');
  await advance(clock, 1500);
  assert.deepEqual(b.events, ['leading']);
  b.stop();
  await b.done;
});

void test('two replicas starting together: exactly one leads', async () => {
  const clock = new ManualClock();
  const lease = new FakeLease();
  const a = replica('a', lease, clock);
  const b = replica('b', lease, clock);
  await advance(clock, 10_000);
  assert.equal([a, b].filter((r) => r.events.includes('leading')).length, 1);
  a.stop();
  b.stop();
  await Promise.all([a.done, b.done]);
});

void test('a renew deadline not shorter than the lease duration is refused', () => {
  assert.throws(() =>
    leaseElection({
      api: new FakeLease().client('x'),
      identity: 'x',
      timings: { leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 100 },
      clock: new ManualClock(),
      logger: silentLogger(),
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    }),
  );
});
