import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { pollUntil, startEtcd, type Etcd } from '@tsdapr/e2e-harness';
import { SchedulerTestClient, grpcFailure, jobMeta, type JobsStream, type Metadata, type ReceivedTrigger } from './testing/scheduler-client.js';
import { metricValue, startSchedulerProcess, type SchedulerProcess } from './testing/scheduler-process.js';

/**
 * Faults against a REAL etcd and the built scheduler process: a SIGKILLed
 * scheduler restarted on the same etcd loses nothing (jobs persist, the
 * trigger in flight is delivered again: at least once); an etcd outage makes
 * the API answer UNAVAILABLE quickly and everything resumes when etcd
 * returns; one app's flood of ScheduleJob calls does not delay another app's
 * triggers (docs/scheduler.md, "Delivery guarantees" and "Fairness").
 */

/** Small, so the bounded loader and staging limits are exercised with a few hundred jobs. */
const MAX_LOADED = 100;

let etcd: Etcd;
let scheduler: SchedulerProcess;
const clients: SchedulerTestClient[] = [];

before(async () => {
  etcd = await startEtcd();
  scheduler = await startSchedulerProcess({ etcd, keyPrefix: 'faults/', extraArgs: ['--member-ttl', '2s', '--max-loaded-triggers', String(MAX_LOADED)] });
});

after(async () => {
  for (const client of clients) client.close();
  await scheduler?.stop();
  await etcd?.stop();
});

function connect(): SchedulerTestClient {
  const client = new SchedulerTestClient(scheduler.address, 20_000);
  clients.push(client);
  return client;
}

async function withDiagnostics(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    console.error(`--- scheduler output (tail) ---\n${scheduler.logs().slice(-8000)}`);
    throw err;
  }
}

function wholeSecondAhead(aheadMs: number): { iso: string; ms: number } {
  const ms = Math.ceil((Date.now() + aheadMs) / 1000) * 1000;
  return { iso: new Date(ms).toISOString(), ms };
}

async function registeredStreams(): Promise<number> {
  return metricValue(await scheduler.metrics(), 'dapr_scheduler_sidecars_connected');
}

async function openJobs(client: SchedulerTestClient, appId: string, ack: Parameters<SchedulerTestClient['watchJobs']>[1] = {}): Promise<JobsStream> {
  const before = await registeredStreams();
  const stream = client.watchJobs({ app_id: appId, namespace: 'default', accept_job_types: ['JOB_TARGET_TYPE_JOB'] }, ack);
  await pollUntil(
    `${appId} stream registered`,
    async () => {
      if (stream.isEnded()) throw new Error(`stream ended: ${JSON.stringify(await stream.ended)}`);
      return (await registeredStreams()) > before ? true : undefined;
    },
    { timeoutMs: 5000, intervalMs: 20 },
  );
  return stream;
}

/** Closes the clients and waits until the scheduler has unregistered every stream, so the next test counts only its own. */
async function closeAll(...list: SchedulerTestClient[]): Promise<void> {
  for (const client of list) client.close();
  await pollUntil('every stream closed', async () => ((await registeredStreams()) === 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
}

async function isGone(client: SchedulerTestClient, name: string, meta: Metadata): Promise<boolean> {
  return client.get(name, meta).then(
    () => false,
    (err: { code?: number; details?: string }) => {
      if (err.code === status.NOT_FOUND) return true;
      throw new Error(`GetJob ${name}: ${err.code} ${err.details}`);
    },
  );
}

void test('SIGKILL and restart with jobs scheduled and one in flight: nothing is lost, the in-flight one is delivered again', { timeout: 45_000 }, () =>
  withDiagnostics(async () => {
    const meta = jobMeta('restart-app');
    const before = connect();
    // The in-flight job's ack is withheld; everything else is acked.
    const old = await openJobs(before, 'restart-app', { ack: (trigger) => (trigger.name === 'inflight' ? undefined : 'SUCCESS') });
    await before.schedule('inflight', { due_time: '0s' }, meta);
    await old.waitFor(1, { name: 'inflight' });
    const names: string[] = [];
    for (let i = 0; i < 10; i++) {
      // Due from 1 s to 5.5 s from now: some fall due while the scheduler is down, some after.
      const name = `later-${i}`;
      names.push(name);
      await before.schedule(name, { due_time: `${1000 + i * 500}ms` }, meta);
    }
    await before.schedule('recurring', { schedule: '@every 1s', repeats: 6 }, meta);

    const killedAt = Date.now();
    await scheduler.kill();
    const oldEnd = await old.ended;
    assert.notEqual(oldEnd.code, status.OK, 'the stream of the killed process ends with an error');
    await scheduler.start();
    console.log(`scheduler restarted and ready ${Date.now() - killedAt} ms after the SIGKILL`);

    const afterClient = connect();
    const fresh = await openJobs(afterClient, 'restart-app');
    const [again] = (await fresh.waitFor(1, { name: 'inflight', timeoutMs: 10_000 })) as [ReceivedTrigger];
    console.log(`in-flight job delivered again ${again.at - killedAt} ms after the SIGKILL`);
    for (const name of names) {
      await pollUntil(`${name} delivered and done`, async () => ((old.named(name).length + fresh.named(name).length > 0 && (await isGone(afterClient, name, meta))) ? true : undefined), {
        timeoutMs: 15_000,
        intervalMs: 100,
      });
    }
    await pollUntil('recurring: 6 ticks and gone', async () => ((await isGone(afterClient, 'recurring', meta)) ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 });
    const recurring = old.named('recurring').length + fresh.named('recurring').length;
    assert.ok(recurring >= 6, `recurring job: ${recurring} deliveries, at least its 6 repeats`);
    assert.ok(await isGone(afterClient, 'inflight', meta), 'the in-flight job completed after its redelivery');
    const duplicates = names.filter((name) => old.named(name).length + fresh.named(name).length > 1);
    console.log(`restart: recurring delivered ${recurring} times for 6 repeats; one-shot duplicates: ${duplicates.join(', ') || 'none'}`);
    await closeAll(before, afterClient);
  }),
);

void test('etcd outage: ScheduleJob answers UNAVAILABLE naming etcd within seconds; the scheduler keeps running and resumes when etcd returns', { timeout: 60_000 }, () =>
  withDiagnostics(async () => {
    const client = connect();
    const meta = jobMeta('outage-app');
    const stream = await openJobs(client, 'outage-app');
    const preDue = wholeSecondAhead(3000);
    await client.schedule('before-outage', { due_time: preDue.iso }, meta);

    await etcd.stopKeepingData();
    const startedAt = Date.now();
    const failure = await grpcFailure(client.schedule('during-outage', { due_time: '0s' }, meta, false, 30_000));
    const tookMs = Date.now() - startedAt;
    console.log(`ScheduleJob during the etcd outage: ${status[failure.code]} after ${tookMs} ms: ${failure.details}`);
    assert.equal(failure.code, status.UNAVAILABLE, JSON.stringify(failure));
    assert.match(failure.details, /etcd/i);
    assert.ok(tookMs < 12_000, `answered within seconds, not after ${tookMs} ms`);
    const get = await grpcFailure(client.get('before-outage', meta));
    assert.equal(get.code, status.UNAVAILABLE, JSON.stringify(get));
    assert.ok(!scheduler.current().process.hasExited(), 'the scheduler process is still running');
    assert.ok([200, 503].includes(await scheduler.healthz()), '/healthz answers');

    // Down past the due time of the job scheduled before the outage.
    await pollUntil('the earlier job is due', async () => (Date.now() > preDue.ms + 500 ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    await etcd.start();
    const backAt = Date.now();
    await pollUntil(
      'ScheduleJob works again',
      async () => {
        await client.schedule('after-outage', { due_time: '0s' }, meta, true, 5000);
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    console.log(`ScheduleJob works ${Date.now() - backAt} ms after etcd is back`);
    // The stream may have been dropped while the replica was out of membership: reopen if so.
    const live = stream.isEnded() ? await openJobs(client, 'outage-app') : stream;
    await pollUntil(
      'both jobs delivered',
      async () => (['before-outage', 'after-outage'].every((name) => stream.named(name).length + (live === stream ? 0 : live.named(name).length) > 0) ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    console.log(`the job due during the outage fired ${Date.now() - backAt} ms after etcd came back`);
    assert.equal(await scheduler.healthz(), 200);
    await closeAll(client);
  }),
);

void test("a flood of one app's ScheduleJob calls does not delay another app's triggers", { timeout: 60_000 }, () =>
  withDiagnostics(async () => {
    const steadyClient = connect();
    const floodClient = connect();
    const steadyMeta = jobMeta('steady-app');
    const stream = await openJobs(steadyClient, 'steady-app');
    const PERIOD = 250;
    const start = wholeSecondAhead(1000);
    await steadyClient.schedule('tick', { due_time: start.iso, schedule: `@every ${PERIOD}ms` }, steadyMeta);
    await stream.waitFor(2, { name: 'tick', timeoutMs: 5000 });

    const histogram = async (): Promise<{ count: number; over250ms: number; over1s: number }> => {
      const text = await scheduler.metrics();
      const count = metricValue(text, 'tsdapr_scheduler_trigger_lateness_seconds_count', { type: 'job' });
      return {
        count,
        over250ms: count - metricValue(text, 'tsdapr_scheduler_trigger_lateness_seconds_bucket', { type: 'job', le: '0.25' }),
        over1s: count - metricValue(text, 'tsdapr_scheduler_trigger_lateness_seconds_bucket', { type: 'job', le: '1' }),
      };
    };
    const serverBefore = await histogram();
    const FLOOD = 3000;
    const floodMeta = jobMeta('flood-app');
    const floodStart = Date.now();
    let done = 0;
    let failed = 0;
    const codes = new Map<number, number>();
    const calls = Array.from({ length: FLOOD }, (_, i) =>
      floodClient.schedule(`flood-${i}`, { due_time: '1h' }, floodMeta, false, 55_000).then(
        () => void done++,
        (err: { code: number }) => {
          failed++;
          codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
        },
      ),
    );
    await Promise.all(calls);
    const floodEnd = Date.now();
    console.log(`flood: ${done} ScheduleJob ok, ${failed} failed (${JSON.stringify([...codes])}) in ${floodEnd - floodStart} ms`);
    // One more period so the last tick due during the flood has had time to arrive.
    await pollUntil('a tick after the flood', async () => (stream.named('tick').some((t) => t.at > floodEnd + PERIOD) ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
    await steadyClient.delete('tick', steadyMeta);
    const serverAfter = await histogram();
    console.log(
      `server-side lateness of the steady app's triggers during the test: ${serverAfter.count - serverBefore.count} sent, ${serverAfter.over250ms - serverBefore.over250ms} later than 250 ms, ${serverAfter.over1s - serverBefore.over1s} later than 1 s`,
    );

    const ticks = stream.named('tick');
    // Acked at once, so tick k (0-based) is the one due at start + k * PERIOD.
    const lateness = ticks.map((trigger, k) => ({ k, due: start.ms + k * PERIOD, late: trigger.at - (start.ms + k * PERIOD) }));
    const during = lateness.filter((tick) => tick.due >= floodStart && tick.due <= floodEnd);
    const worst = Math.max(...during.map((tick) => tick.late));
    console.log(`steady app during the flood: ${during.length} ticks, worst lateness ${worst} ms, lateness ${during.map((tick) => tick.late).join(',')}`);
    assert.equal(done, FLOOD, 'every flood call succeeded');
    assert.ok(during.length >= Math.floor((floodEnd - floodStart) / PERIOD) - 1, `every tick due during the flood arrived (${during.length})`);
    for (const tick of lateness) assert.ok(tick.late >= -20, `tick ${tick.k} not early (${tick.late} ms)`);
    for (const tick of during) assert.ok(tick.late < 2000, `tick ${tick.k} due during the flood arrived ${tick.late} ms late`);
    assert.equal((await floodClient.list(floodMeta)).length, FLOOD, 'every flood job is stored');
    await floodClient.deleteByNamePrefix('', floodMeta);
    await closeAll(steadyClient, floodClient);
  }),
);

void test('more due jobs than --max-loaded-triggers, staged with no stream: all are delivered once a stream connects', { timeout: 45_000 }, () =>
  withDiagnostics(async () => {
    const client = connect();
    const meta = jobMeta('bulk-app');
    const COUNT = 3 * MAX_LOADED;
    const undeliveredBefore = metricValue(await scheduler.metrics(), 'dapr_scheduler_jobs_undelivered_total');
    await Promise.all(Array.from({ length: COUNT }, (_, i) => client.schedule(`bulk-${i}`, { due_time: '0s' }, meta)));
    // The engine has tried (and staged, up to its limit) at least the first batch.
    await pollUntil(
      'jobs found undeliverable',
      async () => (metricValue(await scheduler.metrics(), 'dapr_scheduler_jobs_undelivered_total') - undeliveredBefore >= MAX_LOADED ? true : undefined),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const staged = metricValue(await scheduler.metrics(), 'tsdapr_scheduler_staged_jobs');
    assert.ok(staged <= MAX_LOADED, `staging is bounded by --max-loaded-triggers (${staged})`);
    const connectedAt = Date.now();
    const stream = await openJobs(client, 'bulk-app');
    await pollUntil(
      `all ${COUNT} delivered`,
      async () => {
        const names = new Set(stream.triggers.map((trigger) => trigger.name));
        if (names.size < COUNT) throw new Error(`${names.size} of ${COUNT} distinct jobs delivered`);
        return true;
      },
      { timeoutMs: 25_000, intervalMs: 100 },
    );
    const duplicates = stream.triggers.length - COUNT;
    console.log(`${COUNT} staged jobs (limit ${MAX_LOADED}, ${staged} staged in memory) delivered ${Date.now() - connectedAt} ms after the stream connected; ${duplicates} duplicates`);
    assert.equal(duplicates, 0, 'each job once: nothing was in flight on a lost stream');
    await pollUntil('all bulk jobs finished', async () => ((await client.list(meta)).length === 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 200 });
    await closeAll(client);
  }),
);

void test('graceful shutdown: open streams end with UNAVAILABLE "server is closing" and the process exits promptly', { timeout: 30_000 }, () =>
  withDiagnostics(async () => {
    const client = connect();
    const stream = await openJobs(client, 'shutdown-app');
    const hosts = client.watchHosts();
    await hosts.waitFor(1, 5000);
    const stoppingAt = Date.now();
    const exited = scheduler.current().process.exited;
    process.kill(scheduler.current().process.pid, 'SIGTERM');
    const [jobsEnd, hostsEnd, exit] = await Promise.all([stream.ended, hosts.ended, exited]);
    const tookMs = Date.now() - stoppingAt;
    console.log(`SIGTERM: exited ${JSON.stringify(exit)} after ${tookMs} ms; WatchJobs ${JSON.stringify(jobsEnd)}; WatchHosts ${JSON.stringify(hostsEnd)}`);
    assert.equal(jobsEnd.code, status.UNAVAILABLE, JSON.stringify(jobsEnd));
    assert.match(jobsEnd.details, /server is closing/);
    assert.equal(hostsEnd.code, status.UNAVAILABLE, JSON.stringify(hostsEnd));
    assert.ok(tookMs < 5000, `stopped within 5 s (${tookMs} ms)`);
    assert.deepEqual(exit, { code: 0, signal: null });
    client.close();
  }),
);
