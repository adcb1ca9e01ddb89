import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pollUntil, startEtcd, type Etcd } from '@tsdapr/e2e-harness';
import { SchedulerTestClient, actorMeta, jobMeta, type HostsStream, type JobsStream, type Metadata } from './testing/scheduler-client.js';
import { metricValue, startSchedulerProcess, type SchedulerProcess } from './testing/scheduler-process.js';

/**
 * Three scheduler processes over one REAL etcd (docs/scheduler.md, "High
 * availability"; upstream: each replica owns a share of the jobs and daprd
 * connects a WatchJobs stream to every replica it learns from WatchHosts,
 * dapr/dapr:pkg/runtime/scheduler). One replica is SIGKILLed while jobs are
 * due: the survivors take over its share after the member TTL, every job
 * fires at least once (duplicates are counted and printed), WatchHosts on the
 * survivors sends exactly one new list, and their metrics agree with what the
 * client saw.
 */

const IDS = ['dapr-scheduler-server-0', 'dapr-scheduler-server-1', 'dapr-scheduler-server-2'] as const;
const APP = 'ha-app';
const ACTOR = 'HaActor';
const ACK_DELAY_MS = 300;

let etcd: Etcd;
let replicas: SchedulerProcess[] = [];
const clients: SchedulerTestClient[] = [];

before(async () => {
  etcd = await startEtcd();
  replicas = await Promise.all(IDS.map((id) => startSchedulerProcess({ etcd, keyPrefix: 'ha/', id, extraArgs: ['--member-ttl', '2s'] })));
});

after(async () => {
  for (const client of clients) client.close();
  await Promise.all(replicas.map((replica) => replica.stop()));
  await etcd?.stop();
});

function dumpLogs(): void {
  for (const replica of replicas) console.error(`--- ${replica.id} output (tail) ---\n${replica.logs().slice(-5000)}`);
}

void test('three replicas: SIGKILL one while jobs are due; every job fires, WatchHosts on the survivors sends one new list, metrics agree', { timeout: 60_000 }, async () => {
  try {
    const [r0, r1, r2] = replicas as [SchedulerProcess, SchedulerProcess, SchedulerProcess];
    const byReplica = new Map(replicas.map((replica) => [replica.id, new SchedulerTestClient(replica.address)]));
    clients.push(...byReplica.values());
    const client = (replica: SchedulerProcess): SchedulerTestClient => byReplica.get(replica.id) as SchedulerTestClient;

    // Every replica announces the same three addresses, ordered by replica id.
    const all = replicas.map((replica) => replica.address);
    const hosts = new Map<string, HostsStream>();
    for (const replica of replicas) {
      const stream = client(replica).watchHosts();
      hosts.set(replica.id, stream);
      await pollUntil(
        `${replica.id} WatchHosts lists three replicas`,
        async () => {
          const first = stream.messages[0];
          if (!first) return undefined;
          assert.deepEqual(first.hosts, all, `${replica.id} announces every replica`);
          return true;
        },
        { timeoutMs: 15_000, intervalMs: 50 },
      );
    }

    // One stream to each replica, as daprd does; each acks SUCCESS after 300 ms (an app doing work), so triggers are in flight at the kill.
    const streams = new Map<string, JobsStream>();
    for (const replica of replicas) {
      const stream: JobsStream = client(replica).watchJobs(
        { app_id: APP, namespace: 'default', actor_types: [ACTOR], accept_job_types: ['JOB_TARGET_TYPE_JOB', 'JOB_TARGET_TYPE_ACTOR_REMINDER'] },
        {
          ack: (trigger) => {
            setTimeout(() => stream.ack(trigger.id, 'SUCCESS'), ACK_DELAY_MS);
            return undefined;
          },
        },
      );
      streams.set(replica.id, stream);
    }
    await pollUntil(
      'a stream registered on each replica',
      async () => ((await Promise.all(replicas.map(async (replica) => metricValue(await replica.metrics(), 'dapr_scheduler_sidecars_connected')))).every((n) => n === 1) ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 50 },
    );

    // ~30 one-shots due over the next 4 s, and recurring ones, all created through replica 0 (any replica serves unary calls).
    const oneShots: Array<{ name: string; meta: Metadata }> = [];
    for (let i = 0; i < 15; i++) oneShots.push({ name: `job-${i}`, meta: jobMeta(APP) });
    for (let i = 0; i < 15; i++) oneShots.push({ name: `reminder-${i}`, meta: actorMeta(APP, ACTOR, `actor-${i % 5}`) });
    const recurring = Array.from({ length: 4 }, (_, i) => ({ name: `recurring-${i}`, meta: i % 2 === 0 ? jobMeta(APP) : actorMeta(APP, ACTOR, `rec-${i}`) }));
    const scheduledAt = Date.now();
    await Promise.all([
      ...oneShots.map(({ name, meta }, i) => client(r0).schedule(name, { due_time: `${500 + (i % 10) * 400}ms` }, meta)),
      ...recurring.map(({ name, meta }) => client(r0).schedule(name, { schedule: '@every 500ms', repeats: 10 }, meta)),
    ]);

    const deliveries = (name: string): number => [...streams.values()].reduce((sum, stream) => sum + stream.named(name).length, 0);
    // Kill while jobs are due: once a few have fired, well before the last is due.
    await pollUntil('some jobs fired', async () => (oneShots.filter(({ name }) => deliveries(name) > 0).length >= 5 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    const killedAt = Date.now();
    await r1.kill();
    const firedBeforeKill = oneShots.filter(({ name }) => deliveries(name) > 0).length;
    console.log(`SIGKILL ${r1.id} ${killedAt - scheduledAt} ms after scheduling; ${firedBeforeKill}/${oneShots.length} one-shots had fired`);
    const survivors = [r0, r2];

    // Every job fires at least once; one-shots and finished recurring jobs are deleted.
    const names = [...oneShots, ...recurring];
    await pollUntil(
      'every job fired and finished',
      async () => {
        const pending: string[] = [];
        for (const { name, meta } of names) {
          const done = await client(r0)
            .get(name, meta)
            .then(
              () => false,
              (err: { code?: number }) => err.code === 5,
            );
          if (!done || deliveries(name) === 0) pending.push(name);
        }
        if (pending.length > 0) throw new Error(`pending: ${pending.join(', ')}`);
        return true;
      },
      { timeoutMs: 25_000, intervalMs: 200 },
    );
    const recoveredMs = Date.now() - killedAt;
    for (const { name } of oneShots) assert.ok(deliveries(name) >= 1, `${name} fired`);
    for (const { name } of recurring) assert.ok(deliveries(name) >= 10, `${name}: ${deliveries(name)} deliveries, at least its 10 repeats`);
    const duplicates = [
      ...oneShots.filter(({ name }) => deliveries(name) > 1).map(({ name }) => `${name}×${deliveries(name)}`),
      ...recurring.filter(({ name }) => deliveries(name) > 10).map(({ name }) => `${name}×${deliveries(name)}/10`),
    ];
    const extra = oneShots.reduce((sum, { name }) => sum + deliveries(name) - 1, 0) + recurring.reduce((sum, { name }) => sum + deliveries(name) - 10, 0);
    console.log(`all ${names.length} jobs finished ${recoveredMs} ms after the kill; ${extra} duplicate deliveries: ${duplicates.join(', ') || 'none'}`);
    assert.ok(extra <= 12, `duplicates are few (at most the triggers in flight at the kill): ${extra}`);

    // WatchHosts on the survivors: exactly one new list, with the two survivors.
    for (const survivor of survivors) {
      const stream = hosts.get(survivor.id) as HostsStream;
      const messages = await stream.waitFor(2, 10_000);
      assert.deepEqual(messages[1]?.hosts, [r0.address, r2.address], `${survivor.id}: the new list names the survivors`);
    }
    const settledAt = Math.max(...survivors.map((survivor) => (hosts.get(survivor.id) as HostsStream).messages[1]?.at ?? 0));
    await pollUntil('2 s of stable membership', async () => (Date.now() - settledAt > 2000 ? true : undefined), { timeoutMs: 5000, intervalMs: 100 });
    for (const survivor of survivors) assert.equal((hosts.get(survivor.id) as HostsStream).messages.length, 2, `${survivor.id}: exactly one new list after the kill`);

    // Metrics on the survivors agree with what their streams carried.
    await pollUntil(
      'survivor metrics match the deliveries',
      async () => {
        for (const survivor of survivors) {
          const text = await survivor.metrics();
          const stream = streams.get(survivor.id) as JobsStream;
          const triggered = metricValue(text, 'dapr_scheduler_jobs_triggered_total');
          if (triggered !== stream.triggers.length) throw new Error(`${survivor.id}: dapr_scheduler_jobs_triggered_total ${triggered}, its stream received ${stream.triggers.length}`);
        }
        return true;
      },
      { timeoutMs: 5000, intervalMs: 100 },
    );
    let stale = 0;
    for (const survivor of survivors) {
      const text = await survivor.metrics();
      const line = {
        id: survivor.id,
        triggered: metricValue(text, 'dapr_scheduler_jobs_triggered_total'),
        failed: metricValue(text, 'dapr_scheduler_jobs_failed_total'),
        undelivered: metricValue(text, 'dapr_scheduler_jobs_undelivered_total'),
        stale: metricValue(text, 'tsdapr_scheduler_stale_outcomes_total'),
        created: metricValue(text, 'dapr_scheduler_jobs_created_total'),
        streams: metricValue(text, 'dapr_scheduler_sidecars_connected'),
      };
      console.log(`metrics ${JSON.stringify(line)}`);
      stale += line.stale;
      assert.equal(line.failed, 0, 'nothing was acked FAILED');
      assert.equal(line.streams, 1, 'one open stream each');
      assert.equal(line.created, survivor === r0 ? names.length : 0, 'jobs created are counted where they were created');
    }
    // A stale outcome is a delivery whose outcome was not stored: it is never more than the duplicates.
    assert.ok(stale <= extra, `stale outcomes (${stale}) <= duplicate deliveries (${extra})`);
  } catch (err) {
    dumpLogs();
    throw err;
  }
});

void test('graceful stop of a replica (SIGTERM): it gives its share up at once; the last replica fires its jobs and announces itself alone', { timeout: 30_000 }, async () => {
  try {
    const [r0, , r2] = replicas as [SchedulerProcess, SchedulerProcess, SchedulerProcess];
    const c0 = new SchedulerTestClient(r0.address);
    clients.push(c0);
    const hosts = c0.watchHosts();
    const [first] = await hosts.waitFor(1, 10_000);
    assert.deepEqual(first?.hosts, [r0.address, r2.address], 'two replicas left after the previous test');
    const stream = c0.watchJobs({ app_id: 'graceful-app', namespace: 'default', accept_job_types: ['JOB_TARGET_TYPE_JOB'] });
    await pollUntil('stream registered on replica 0', async () => (metricValue(await r0.metrics(), 'dapr_scheduler_sidecars_connected') >= 1 ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
    const meta = jobMeta('graceful-app');
    // Due in 2 s: about half land in replica 2's buckets, which only replica 0 can fire once replica 2 is gone.
    const names = Array.from({ length: 20 }, (_, i) => `g-${i}`);
    await Promise.all(names.map((name) => c0.schedule(name, { due_time: '2s' }, meta)));
    const stoppedAt = Date.now();
    await r2.stop();
    const stopMs = Date.now() - stoppedAt;
    await pollUntil('every job fired on replica 0', async () => (names.every((name) => stream.named(name).length > 0) ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
    const lastAt = Math.max(...names.map((name) => (stream.named(name)[0] as { at: number }).at));
    console.log(`replica 2 stopped in ${stopMs} ms; all ${names.length} jobs fired ${lastAt - stoppedAt} ms after the stop began`);
    // A graceful stop revokes the membership lease: no wait for the 2 s member TTL beyond the jobs' own due time.
    assert.ok(lastAt - stoppedAt < 4500, `the survivor took over promptly (${lastAt - stoppedAt} ms)`);
    const [, second] = await hosts.waitFor(2, 5000);
    assert.deepEqual(second?.hosts, [r0.address]);
    c0.close();
  } catch (err) {
    dumpLogs();
    throw err;
  }
});
