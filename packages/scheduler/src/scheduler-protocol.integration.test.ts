import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { pollUntil, startEtcd, type Etcd } from '@tsdapr/e2e-harness';
import { SchedulerTestClient, actorMeta, grpcFailure, jobMeta, type JobsStream, type Metadata, type ReceivedTrigger } from './testing/scheduler-client.js';
import { metricValue, startSchedulerProcess, type SchedulerProcess } from './testing/scheduler-process.js';

/**
 * The scheduler's wire protocol against a REAL etcd and the built scheduler
 * process, over real gRPC streams: every RPC of
 * dapr.proto.scheduler.v1.Scheduler with upstream's statuses and messages
 * (dapr/dapr:pkg/scheduler/server/api.go@v1.17.13), routing, staging,
 * repeats, failure policies and the WatchJobs/WatchHosts stream protocol
 * (docs/scheduler.md).
 */

let etcd: Etcd;
let scheduler: SchedulerProcess;
const clients: SchedulerTestClient[] = [];

before(async () => {
  etcd = await startEtcd();
  scheduler = await startSchedulerProcess({ etcd, keyPrefix: 'protocol/' });
});

after(async () => {
  for (const client of clients) client.close();
  await scheduler?.stop();
  await etcd?.stop();
});

function connect(): SchedulerTestClient {
  const client = new SchedulerTestClient(scheduler.address);
  clients.push(client);
  return client;
}

/** A fresh client per test, closed (every stream cancelled) at its end, so tests do not see each other's streams. */
async function withClient(body: (client: SchedulerTestClient) => Promise<void>): Promise<void> {
  const client = connect();
  try {
    await body(client);
  } catch (err) {
    console.error(`--- scheduler output (tail) ---\n${scheduler.logs().slice(-6000)}`);
    throw err;
  } finally {
    client.close();
  }
  await pollUntil('every stream of the test closed', async () => ((await registeredStreams()) === 0 ? true : undefined), { timeoutMs: 5000, intervalMs: 20 });
}

/** A whole second at least `aheadMs` from now, as RFC 3339 and ms. */
function wholeSecondAhead(aheadMs: number): { iso: string; ms: number } {
  const ms = Math.ceil((Date.now() + aheadMs) / 1000) * 1000;
  return { iso: new Date(ms).toISOString(), ms };
}

async function waitGone(client: SchedulerTestClient, name: string, meta: Metadata, timeoutMs = 10_000): Promise<void> {
  await pollUntil(
    `GetJob ${name} NOT_FOUND`,
    async () => {
      const failure = await client.get(name, meta).then(
        () => undefined,
        (err: { code?: number }) => err,
      );
      if (failure === undefined) throw new Error('still there');
      if (failure.code === status.NOT_FOUND) return true;
      throw new Error(`GetJob failed with ${JSON.stringify(failure)}`);
    },
    { timeoutMs, intervalMs: 50 },
  );
}

async function openJobs(client: SchedulerTestClient, appId: string, options: Parameters<SchedulerTestClient['watchJobs']>[1] = {}, namespace = 'default'): Promise<JobsStream> {
  const before = await registeredStreams();
  const stream = client.watchJobs({ app_id: appId, namespace, accept_job_types: ['JOB_TARGET_TYPE_JOB'] }, options);
  await waitRegistered(stream, before + 1);
  return stream;
}

/**
 * Nothing acknowledges registration on the wire: the streams gauge tells when
 * the server has registered it. Tests run one at a time and each ends with
 * every stream closed, so the gauge counts only the running test's streams.
 */
async function waitRegistered(stream: JobsStream, count: number): Promise<void> {
  await pollUntil(
    `${count} stream(s) registered`,
    async () => {
      if (stream.isEnded()) throw new Error(`stream ended: ${JSON.stringify(await stream.ended)}`);
      return (await registeredStreams()) >= count ? true : undefined;
    },
    { timeoutMs: 5000, intervalMs: 20 },
  );
}

async function registeredStreams(): Promise<number> {
  return metricValue(await scheduler.metrics(), 'dapr_scheduler_sidecars_connected');
}

void test('ScheduleJob/GetJob/DeleteJob: statuses and messages as upstream', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('app1');
    await client.schedule('j1', { due_time: '1h' }, meta);
    const again = await grpcFailure(client.schedule('j1', { due_time: '1h' }, meta));
    assert.equal(again.code, status.ALREADY_EXISTS);
    assert.equal(again.details, "job already exists: 'app||default||app1||j1'");
    await client.schedule('j1', { due_time: '2h' }, meta, true);
    assert.equal((await client.get('j1', meta)).due_time, '2h', 'overwrite replaced the job');
    await client.delete('j1', meta);
    const missing = await grpcFailure(client.get('j1', meta));
    assert.equal(missing.code, status.NOT_FOUND);
    assert.equal(missing.details, 'job not found: j1');
    // Deleting a job that does not exist succeeds (dapr/dapr:pkg/scheduler/server/api.go DeleteJob).
    await client.delete('j1', meta);
    await client.delete('never-existed', meta);

    for (const bad of [{ app_id: '', namespace: 'default', target: { job: {} } }, { app_id: 'app1', namespace: '', target: { job: {} } }] as const) {
      for (const call of [client.schedule('x', { due_time: '1h' }, bad), client.get('x', bad), client.delete('x', bad), client.list(bad), client.deleteByMetadata(bad), client.deleteByNamePrefix('x', bad)]) {
        const failure = await grpcFailure(call);
        assert.equal(failure.code, status.INVALID_ARGUMENT, JSON.stringify(failure));
        assert.match(failure.details, /missing namespace or appID in request/);
      }
    }
    // A WatchJobs stream without app id is refused the same way.
    const stream = client.watchJobs({ app_id: '', namespace: 'default' });
    const end = await stream.ended;
    assert.equal(end.code, status.INVALID_ARGUMENT);
    assert.match(end.details, /missing namespace or appID in request/);
    // A request without a job message is refused, not a crash.
    const noJob = await grpcFailure(client.schedule('nojob', undefined, meta));
    assert.equal(noJob.code, status.INVALID_ARGUMENT);
    assert.equal(await scheduler.healthz(), 200);
  }),
);

void test('validation errors name the field and the value', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('app-validation');
    const cases: Array<{ job: Parameters<SchedulerTestClient['schedule']>[1]; expect: RegExp[] }> = [
      { job: { schedule: '* * * * *' }, expect: [/job failed validation: /, /expected exactly 6 fields, found 5/, /schedule "\* \* \* \* \*"/] },
      { job: { due_time: 'tomorrow-ish' }, expect: [/job failed validation: /, /due time format not recognized/, /tomorrow-ish/] },
      { job: { due_time: '10s', ttl: '1h' }, expect: [/job failed validation: /, /job must have a schedule to have a ttl/] },
      { job: { schedule: '@every 1s', repeats: 0 }, expect: [/job failed validation: /, /repeats must be greater than 0/] },
      { job: {}, expect: [/job must have either a due time or a schedule/] },
    ];
    for (const { job, expect } of cases) {
      const failure = await grpcFailure(client.schedule('bad', job, meta));
      assert.equal(failure.code, status.INVALID_ARGUMENT, `${JSON.stringify(job)} → ${JSON.stringify(failure)}`);
      for (const pattern of expect) assert.match(failure.details, pattern, `${JSON.stringify(job)} → ${failure.details}`);
    }
    const missing = await grpcFailure(client.get('bad', meta));
    assert.equal(missing.code, status.NOT_FOUND, 'nothing was stored by a refused request');
  }),
);

void test('data round-trips byte for byte through GetJob and the trigger', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('app-data');
    const stream = await openJobs(client, 'app-data', { ack: 'manual' });
    const value = Buffer.concat([randomBytes(4093), Buffer.from([0, 0xff, 0x80])]);
    const typeUrl = 'type.googleapis.com/my.custom.Payload';
    await client.schedule('later', { due_time: '1h', data: { type_url: typeUrl, value } }, meta);
    const got = await client.get('later', meta);
    assert.equal(got.data?.type_url, typeUrl);
    assert.ok(got.data && Buffer.compare(got.data.value, value) === 0, 'GetJob returns the exact bytes');
    assert.equal(got.due_time, '1h', 'GetJob returns the due time as submitted');
    assert.deepEqual(got.failure_policy?.constant?.interval, { seconds: '1', nanos: 0 }, 'the default failure policy is stored');
    assert.equal(got.failure_policy?.constant?.max_retries, 3);

    await client.schedule('now', { due_time: '0s', data: { type_url: typeUrl, value } }, meta);
    const [trigger] = (await stream.waitFor(1, { name: 'now' })) as [ReceivedTrigger];
    assert.equal(trigger.data?.type_url, typeUrl);
    assert.ok(trigger.data && Buffer.compare(trigger.data.value, value) === 0, 'the trigger carries the exact bytes');
    assert.equal(trigger.metadata.app_id, 'app-data');
    assert.equal(trigger.metadata.namespace, 'default');
    assert.ok(trigger.metadata.target?.job, 'target job');
    assert.equal(trigger.id, '1', 'trigger ids start at 1 per stream');
    stream.ack(trigger.id);
    await waitGone(client, 'now', meta);
  }),
);

void test('routing: app jobs only to streams of the app and namespace; reminders to streams hosting the type', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const app1 = await openJobs(client, 'route-app1');
    const app2 = await openJobs(client, 'route-app2');
    const otherNs = await openJobs(client, 'route-app1', {}, 'other-ns');
    await client.schedule('j', { due_time: '0s' }, jobMeta('route-app1'));
    await app1.waitFor(1, { name: 'j' });
    await waitGone(client, 'j', jobMeta('route-app1'));
    // The job was acked and is gone: no other stream can ever get it.
    assert.equal(app2.triggers.length, 0, 'another app never gets app1 jobs');
    assert.equal(otherNs.triggers.length, 0, 'app1 in another namespace never gets them');
    assert.equal(app1.triggers.length, 1);

    // Reminders: to the stream that declares the type (and accepts reminders).
    const hostA = client.watchJobs({ app_id: 'route-host-a', namespace: 'default', actor_types: ['RouteActor'], accept_job_types: ['JOB_TARGET_TYPE_JOB', 'JOB_TARGET_TYPE_ACTOR_REMINDER'] });
    const hostB = client.watchJobs({ app_id: 'route-host-b', namespace: 'default', actor_types: ['OtherActor'], accept_job_types: ['JOB_TARGET_TYPE_ACTOR_REMINDER'] });
    // Declares the type but accepts only jobs: gets no reminders.
    const jobsOnly = client.watchJobs({ app_id: 'route-host-c', namespace: 'default', actor_types: ['RouteActor', 'JobsOnlyActor'], accept_job_types: ['JOB_TARGET_TYPE_JOB'] });
    await pollUntil('6 streams registered', async () => ((await registeredStreams()) >= 6 ? true : undefined), { timeoutMs: 5000, intervalMs: 20 });
    const reminder = actorMeta('route-caller', 'RouteActor', 'a1');
    await client.schedule('r', { due_time: '0s' }, reminder);
    const [got] = (await hostA.waitFor(1, { name: 'r' })) as [ReceivedTrigger];
    assert.equal(got.metadata.app_id, 'route-caller', "the trigger carries the creator's app id");
    assert.deepEqual({ id: got.metadata.target?.actor?.id, type: got.metadata.target?.actor?.type }, { id: 'a1', type: 'RouteActor' });
    await waitGone(client, 'r', reminder);
    assert.equal(hostB.triggers.length, 0);
    assert.equal(jobsOnly.triggers.length, 0);

    // A type only a JOB-only stream declares: staged, not delivered to it; a reminder stream gets it.
    const staged = actorMeta('route-caller', 'JobsOnlyActor', 'z');
    const before = metricValue(await scheduler.metrics(), 'dapr_scheduler_jobs_undelivered_total');
    await client.schedule('r2', { due_time: '0s' }, staged);
    await pollUntil('reminder undeliverable', async () => (metricValue(await scheduler.metrics(), 'dapr_scheduler_jobs_undelivered_total') > before ? true : undefined), { timeoutMs: 5000, intervalMs: 20 });
    assert.equal(jobsOnly.triggers.length, 0, 'accept_job_types [JOB] only: no reminders');
    const hostD = client.watchJobs({ app_id: 'route-host-d', namespace: 'default', actor_types: ['JobsOnlyActor'], accept_job_types: ['JOB_TARGET_TYPE_ACTOR_REMINDER'] });
    await hostD.waitFor(1, { name: 'r2' });
    await waitGone(client, 'r2', staged);
    assert.equal(jobsOnly.triggers.length, 0);
  }),
);

void test('staging: a job due with no stream connected is delivered at once when one connects', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('staging-app');
    const due = wholeSecondAhead(500);
    const stagedBefore = metricValue(await scheduler.metrics(), 'tsdapr_scheduler_staged_jobs');
    await client.schedule('s1', { due_time: due.iso }, meta);
    await pollUntil('job staged', async () => (metricValue(await scheduler.metrics(), 'tsdapr_scheduler_staged_jobs') > stagedBefore ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
    assert.ok(Date.now() >= due.ms, 'staged only once due');
    const connectedAt = Date.now();
    const stream = client.watchJobs({ app_id: 'staging-app', namespace: 'default', accept_job_types: ['JOB_TARGET_TYPE_JOB'] });
    const [trigger] = (await stream.waitFor(1, { name: 's1', timeoutMs: 5000 })) as [ReceivedTrigger];
    const delay = trigger.at - connectedAt;
    console.log(`staged job delivered ${delay} ms after the stream connected`);
    assert.ok(delay < 1500, `delivered at once, not after ${delay} ms`);
    await waitGone(client, 's1', meta);
    assert.equal(stream.triggers.length, 1);
  }),
);

void test('repeats: @every 200ms with repeats 3 fires exactly 3 times, never early, then the job is gone', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('repeats-app');
    const stream = await openJobs(client, 'repeats-app');
    // A whole-second due time pins the ticks: due, due + 200 ms, due + 400 ms.
    const due = wholeSecondAhead(500);
    await client.schedule('rep', { due_time: due.iso, schedule: '@every 200ms', repeats: 3 }, meta);
    await stream.waitFor(3, { name: 'rep' });
    await waitGone(client, 'rep', meta);
    const offsets = stream.named('rep').map((trigger) => trigger.at - due.ms);
    console.log(`repeats: ticks at due + ${offsets.join(', ')} ms`);
    assert.equal(offsets.length, 3, 'exactly 3');
    offsets.forEach((offset, k) => {
      assert.ok(offset >= k * 200 - 20, `tick ${k} not early (${offset} ms after due)`);
      assert.ok(offset < k * 200 + 1000, `tick ${k} on time (${offset} ms after due)`);
    });
  }),
);

void test('failure policy: the default retries 4 attempts ~1 s apart; drop delivers once', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('policy-app');
    const stream = await openJobs(client, 'policy-app', { ack: 'FAILED' });
    const due = wholeSecondAhead(700);
    await client.schedule('default', { due_time: due.iso }, meta);
    await client.schedule('drop', { due_time: due.iso, failure_policy: { drop: {} } }, meta);
    await waitGone(client, 'drop', meta);
    await waitGone(client, 'default', meta, 15_000);
    assert.equal(stream.named('drop').length, 1, 'drop: one delivery');
    const attempts = stream.named('default');
    assert.equal(attempts.length, 4, 'default policy: 4 deliveries');
    const offsets = attempts.map((attempt) => attempt.at - due.ms);
    console.log(`default policy attempts at due + ${offsets.join(', ')} ms`);
    offsets.forEach((offset, i) => {
      assert.ok(offset >= i * 1000 - 50, `attempt ${i + 1} not early (${offset} ms after due)`);
      assert.ok(offset < i * 1000 + 900, `attempt ${i + 1} about 1 s after the previous (${offset} ms after due)`);
    });
  }),
);

/**
 * Waits until the job is gone or has been delivered more than `expected`
 * times, then asserts exactly `expected` deliveries and the job gone.
 */
async function expectExactDeliveries(client: SchedulerTestClient, stream: JobsStream, name: string, meta: Metadata, expected: number): Promise<void> {
  const gone = await pollUntil(
    `${name}: gone, or delivered more than ${expected} times`,
    async () => {
      if (stream.named(name).length > expected) return false;
      const failure = await client.get(name, meta).then(
        () => undefined,
        (err: { code?: number }) => err,
      );
      return failure?.code === status.NOT_FOUND ? true : undefined;
    },
    { timeoutMs: 8000, intervalMs: 50 },
  );
  assert.equal(stream.named(name).length, expected, `${name}: delivered ${stream.named(name).length} times, expected ${expected}`);
  assert.ok(gone, `${name}: the job is deleted after its last delivery`);
}

void test('failure policy: constant interval 0s with max_retries 2 delivers 3 times', { timeout: 15_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('policy0-app');
    const stream = await openJobs(client, 'policy0-app', { ack: 'FAILED' });
    await client.schedule('constant', { due_time: '0s', failure_policy: { constant: { interval: { seconds: 0, nanos: 0 }, max_retries: 2 } } }, meta);
    await expectExactDeliveries(client, stream, 'constant', meta, 3);
  }),
);

void test('repeats: @every 0s with repeats 3 fires exactly 3 times back to back', { timeout: 15_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('every0-app');
    const stream = await openJobs(client, 'every0-app');
    await client.schedule('zero', { schedule: '@every 0s', repeats: 3 }, meta);
    await expectExactDeliveries(client, stream, 'zero', meta, 3);
  }),
);

void test('overwrite resets the job: its tick count starts again', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('overwrite-app');
    const stream = await openJobs(client, 'overwrite-app');
    const v1 = { type_url: 'v', value: Buffer.from('v1') };
    const v2 = { type_url: 'v', value: Buffer.from('v2') };
    await client.schedule('ow', { schedule: '@every 300ms', repeats: 3, data: v1 }, meta);
    await stream.waitFor(2, { name: 'ow' });
    await client.schedule('ow', { schedule: '@every 200ms', repeats: 3, data: v2 }, meta, true);
    await waitGone(client, 'ow', meta);
    const versions = stream.named('ow').map((trigger) => trigger.data?.value.toString());
    assert.equal(versions.filter((v) => v === 'v2').length, 3, `the new version fires its 3 repeats: ${versions.join(',')}`);
    assert.ok(versions.filter((v) => v === 'v1').length <= 3, `the old version stops: ${versions.join(',')}`);
  }),
);

void test('ListJobs is scoped by metadata and keeps names with ||', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const far = { due_time: '1h' };
    await client.schedule('a1', far, jobMeta('list-a'));
    await client.schedule('a||2', far, jobMeta('list-a'));
    await client.schedule('b1', far, jobMeta('list-b'));
    await client.schedule('a1', far, jobMeta('list-a', 'other-ns'));
    await client.schedule('rx', far, actorMeta('list-a', 'ListActor', 'x'));
    await client.schedule('ry', far, actorMeta('list-b', 'ListActor', 'y||z'));
    await client.schedule('re', far, actorMeta('list-a', 'ListActorExtra', 'x'));

    const appJobs = await client.list(jobMeta('list-a'));
    assert.deepEqual(appJobs.map((job) => job.name).sort(), ['a1', 'a||2']);
    for (const job of appJobs) {
      assert.equal(job.metadata.app_id, 'list-a');
      assert.equal(job.metadata.namespace, 'default');
      assert.equal(job.job.due_time, '1h');
    }
    assert.deepEqual((await client.list(jobMeta('list-b'))).map((job) => job.name), ['b1']);

    const actorX = await client.list(actorMeta('anyone', 'ListActor', 'x'));
    assert.deepEqual(actorX.map((job) => job.name), ['rx']);
    const wholeType = await client.list(actorMeta('anyone', 'ListActor', ''));
    assert.deepEqual(wholeType.map((job) => `${job.metadata.target?.actor?.id}/${job.name}`).sort(), ['x/rx', 'y||z/ry'], 'the whole type, not ListActorExtra');
    const creator = wholeType.find((job) => job.name === 'ry');
    assert.equal(creator?.metadata.app_id, 'list-b', "the stored metadata names the creator's app");
    assert.deepEqual((await client.list(actorMeta('anyone', 'ListActor', 'y||z'))).map((job) => job.name), ['ry']);
    assert.deepEqual(await client.list(jobMeta('list-nobody')), []);
  }),
);

void test('DeleteByMetadata: exact actor id, id prefix match, empty id prefix match only the exact type', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const far = { due_time: '1h' };
    const app = 'dbm-app';
    await client.schedule('r1', far, actorMeta(app, 'DbmWorkflow', 'inst'));
    await client.schedule('r2', far, actorMeta(app, 'DbmWorkflow', 'inst'));
    await client.schedule('r1', far, actorMeta(app, 'DbmWorkflow', 'inst2'));
    await client.deleteByMetadata(actorMeta(app, 'DbmWorkflow', 'inst'));
    assert.deepEqual((await client.list(actorMeta(app, 'DbmWorkflow', ''))).map((job) => job.metadata.target?.actor?.id), ['inst2'], 'exact id: inst only');

    for (const id of ['inst::0::1', 'inst::1::1', 'inst2']) await client.schedule('run-activity', far, actorMeta(app, 'DbmActivity', id));
    await client.deleteByMetadata(actorMeta(app, 'DbmActivity', 'inst::'), true);
    assert.deepEqual((await client.list(actorMeta(app, 'DbmActivity', ''))).map((job) => job.metadata.target?.actor?.id), ['inst2'], 'prefix inst:: deletes inst::0::1 and inst::1::1, not inst2');

    await client.schedule('t', far, actorMeta(app, 'DbmType', 'a'));
    await client.schedule('t', far, actorMeta(app, 'DbmTypeextra', 'a'));
    await client.deleteByMetadata(actorMeta(app, 'DbmType', ''), true);
    assert.deepEqual(await client.list(actorMeta(app, 'DbmType', '')), []);
    assert.deepEqual((await client.list(actorMeta(app, 'DbmTypeextra', ''))).map((job) => job.name), ['t'], 'an empty id prefix match deletes only the exact type');

    // A deleted job's state goes too: scheduling the same name again starts fresh.
    await client.schedule('r1', far, actorMeta(app, 'DbmWorkflow', 'inst'));
  }),
);

void test('DeleteByNamePrefix deletes the app jobs whose name starts with the prefix', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const far = { due_time: '1h' };
    for (const name of ['pre-1', 'pre-2', 'other']) await client.schedule(name, far, jobMeta('dnp-a'));
    await client.schedule('pre-1', far, jobMeta('dnp-b'));
    await client.deleteByNamePrefix('pre-', jobMeta('dnp-a'));
    assert.deepEqual((await client.list(jobMeta('dnp-a'))).map((job) => job.name), ['other']);
    assert.deepEqual((await client.list(jobMeta('dnp-b'))).map((job) => job.name), ['pre-1'], "another app's jobs stay");
    await client.deleteByNamePrefix('', jobMeta('dnp-a'));
    assert.deepEqual(await client.list(jobMeta('dnp-a')), []);
  }),
);

void test('a stream whose first message is a result is refused with a clear status; the server keeps serving', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const bad = client.watchJobs({ app_id: 'x', namespace: 'default' }, { first: { result: { id: '1', status: 'SUCCESS' } } });
    const end = await bad.ended;
    assert.equal(end.code, status.INVALID_ARGUMENT, JSON.stringify(end));
    assert.equal(end.details, 'initial request is required on stream connection');
    const good = await openJobs(client, 'after-bad-app');
    await client.schedule('ok', { due_time: '0s' }, jobMeta('after-bad-app'));
    await good.waitFor(1, { name: 'ok' });
    assert.equal(await scheduler.healthz(), 200);
  }),
);

void test('a trigger in flight when its stream ends is delivered again to another stream of the app', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('inflight-app');
    const first = await openJobs(client, 'inflight-app', { ack: 'manual' });
    await client.schedule('f', { due_time: '0s', data: { type_url: 't', value: Buffer.from('payload') } }, meta);
    await first.waitFor(1, { name: 'f' });
    const before = await registeredStreams();
    const second = client.watchJobs({ app_id: 'inflight-app', namespace: 'default', accept_job_types: ['JOB_TARGET_TYPE_JOB'] });
    await pollUntil('second stream registered', async () => ((await registeredStreams()) > before ? true : undefined), { timeoutMs: 5000, intervalMs: 20 });
    assert.equal(second.triggers.length, 0, 'the job is in flight on the first stream: not sent twice');
    first.cancel();
    const [again] = (await second.waitFor(1, { name: 'f' })) as [ReceivedTrigger];
    assert.equal(again.data?.value.toString(), 'payload');
    await waitGone(client, 'f', meta);
    assert.equal(first.triggers.length, 1);
  }),
);

void test('WatchJobs opening errors: duplicate accept_job_types, reminders without actor types', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const duplicate = client.watchJobs({ app_id: 'open-app', namespace: 'default', accept_job_types: ['JOB_TARGET_TYPE_JOB', 'JOB_TARGET_TYPE_JOB'] });
    const end = await duplicate.ended;
    assert.equal(end.code, status.INVALID_ARGUMENT, JSON.stringify(end));
    assert.equal(end.details, 'duplicate target type specified: JOB_TARGET_TYPE_JOB');
    const noTypes = client.watchJobs({ app_id: 'open-app', namespace: 'default', accept_job_types: ['JOB_TARGET_TYPE_ACTOR_REMINDER'] });
    const noTypesEnd = await noTypes.ended;
    assert.equal(noTypesEnd.code, status.INVALID_ARGUMENT, JSON.stringify(noTypesEnd));
    assert.match(noTypesEnd.details, /actor_types/);
    assert.equal(await registeredStreams(), 0);
  }),
);

void test('acks: an unknown id is ignored and the stream keeps working; names with || reach the trigger as given', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('ack-app');
    const stream = await openJobs(client, 'ack-app', { ack: 'manual' });
    stream.ack('999');
    stream.ack('0', 'FAILED');
    await client.schedule('a||b', { due_time: '0s' }, meta);
    const [trigger] = (await stream.waitFor(1, { name: 'a||b' })) as [ReceivedTrigger];
    assert.equal(trigger.id, '1');
    stream.ack(trigger.id);
    stream.ack(trigger.id, 'FAILED'); // a second ack of the same id: ignored
    await waitGone(client, 'a||b', meta);
    assert.equal(stream.isEnded(), false);
    await client.schedule('next', { due_time: '0s' }, meta);
    const [next] = (await stream.waitFor(1, { name: 'next' })) as [ReceivedTrigger];
    assert.equal(next.id, '2', 'ids increase per stream');
    stream.ack(next.id);
    await waitGone(client, 'next', meta);
  }),
);

void test('a job deleted while its trigger is in flight stays deleted: the late ack does not bring it back', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('delete-inflight-app');
    const stream = await openJobs(client, 'delete-inflight-app', { ack: 'manual' });
    await client.schedule('d', { schedule: '@every 200ms' }, meta);
    const [trigger] = (await stream.waitFor(1, { name: 'd' })) as [ReceivedTrigger];
    const staleBefore = metricValue(await scheduler.metrics(), 'tsdapr_scheduler_stale_outcomes_total');
    await client.delete('d', meta);
    stream.ack(trigger.id);
    await pollUntil('the late outcome is counted stale', async () => (metricValue(await scheduler.metrics(), 'tsdapr_scheduler_stale_outcomes_total') > staleBefore ? true : undefined), {
      timeoutMs: 5000,
      intervalMs: 50,
    });
    await pollUntil('still gone', async () => ((await client.get('d', meta).then(() => false, () => true)) ? true : undefined), { timeoutMs: 2000, intervalMs: 50 });
    const count = stream.named('d').length;
    await client.schedule('probe', { due_time: '0s' }, meta);
    const [probe] = (await stream.waitFor(1, { name: 'probe' })) as [ReceivedTrigger];
    stream.ack(probe.id);
    await waitGone(client, 'probe', meta);
    assert.equal(stream.named('d').length, count, 'no trigger of the deleted job after its deletion');
    assert.equal(count, 1);
  }),
);

void test('ttl: a recurring job stops after its ttl and is deleted', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const meta = jobMeta('ttl-app');
    const stream = await openJobs(client, 'ttl-app');
    const due = wholeSecondAhead(500);
    // Ticks at due, +300, +600, +900; the ttl (1 s after the due time) admits those 4 and no more.
    await client.schedule('t', { due_time: due.iso, schedule: '@every 300ms', ttl: '1s' }, meta);
    await waitGone(client, 't', meta, 10_000);
    assert.equal(stream.named('t').length, 4, `ticks: ${stream.named('t').map((tick) => tick.at - due.ms).join(', ')} ms after due`);
  }),
);

void test('job names with / or control characters are refused with INVALID_ARGUMENT naming the name', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    for (const name of ['a/b', 'tab\there', '..']) {
      const failure = await grpcFailure(client.schedule(name, { due_time: '1h' }, jobMeta('names-app')));
      assert.equal(failure.code, status.INVALID_ARGUMENT, `${JSON.stringify(name)}: ${JSON.stringify(failure)}`);
      assert.match(failure.details, /job name is invalid/);
    }
  }),
);

void test('WatchHosts sends the host list once and nothing more while membership is stable', { timeout: 20_000 }, () =>
  withClient(async (client) => {
    const hosts = client.watchHosts();
    const [first] = await hosts.waitFor(1, 5000);
    assert.deepEqual(first?.hosts, [scheduler.address]);
    // Hold the stream for 2 s after the first message: no second message may come.
    await assert.rejects(hosts.waitFor(2, 2000), /timed out/);
    assert.equal(hosts.messages.length, 1);
  }),
);
