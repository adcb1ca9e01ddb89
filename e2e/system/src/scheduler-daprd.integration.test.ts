import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowRuntimeStatus } from '@dapr/dapr';
import { pollUntil, startDaprd, type Daprd } from '@tsdapr/e2e-harness';
import { startStandaloneControlPlane, type StandaloneControlPlane } from './control-plane-processes.js';
import { startSchedulerApp, type SchedulerApp } from './jobs-app.js';
import { activityRuns, greetThenWait, startWorkflowWorker, WAITING_STATUS, type WorkflowWorker } from './workflow-app.js';

/**
 * Real daprd (1.17.5 and 1.18.1) against our scheduler, standalone with mTLS:
 * the Jobs API, actor reminders and workflows, which daprd all turns into
 * scheduler jobs (dapr/dapr:pkg/api/http/jobs.go, pkg/actors/reminders,
 * pkg/runtime/wfengine; docs/scheduler.md).
 */

const APP_ID = 'schedapp';
const ACTOR_TYPE = 'remindee';
const DAPRD_VERSIONS = ['1.17.5', '1.18.1'] as const;

/** An in-memory actor state store: reminders and workflows need one (they run on actors). */
const STATE_STORE = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
  metadata:
  - name: actorStateStore
    value: "true"
`;

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** The daprd `metadata` fields these tests look at. */
interface Metadata {
  scheduler?: { connected_addresses?: string[] };
  actorRuntime?: { placement?: string; hostReady?: boolean; activeActors?: Array<{ type: string; count: number }> };
}

/** The job as `GET /v1.0-alpha1/jobs/{name}` renders it (protojson of runtime.v1.Job). */
interface JobView {
  name?: string;
  schedule?: string;
  repeats?: number;
  dueTime?: string;
  ttl?: string;
  data?: unknown;
  failurePolicy?: unknown;
}

/** How daprd's GET renders a job's `data`: the stored Any of a `google.protobuf.Value`, as protojson. */
function asValueAny(value: unknown): unknown {
  return { '@type': 'type.googleapis.com/google.protobuf.Value', value };
}

/**
 * Waits `ms` of wall-clock time, checking all along that `holds` stays true:
 * a bounded poll for "nothing more happens" that fails as soon as it does.
 */
async function assertHoldsFor(what: string, ms: number, holds: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    assert.ok(await holds(), `${what} (checked for ${ms}ms)`);
    if (Date.now() >= until) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The last `max` lines of a log that match `pattern`. */
function grepTail(log: string, pattern: RegExp, max = 40): string {
  return log
    .split('\n')
    .filter((line) => pattern.test(line))
    .slice(-max)
    .join('\n');
}

for (const version of DAPRD_VERSIONS) {
  describe(`daprd ${version} against our scheduler (standalone, mTLS)`, () => {
    schedulerSuite(version);
  });
}

function schedulerSuite(version: string): void {
  let controlPlane: StandaloneControlPlane;
  let app: SchedulerApp;
  let daprd: Daprd | undefined;
  let resourcesPath: string;
  let worker: WorkflowWorker | undefined;

  async function startSidecar(): Promise<Daprd> {
    const sidecar = await startDaprd({
      appId: APP_ID,
      version,
      args: [
        `--app-port=${app.port}`,
        `--resources-path=${resourcesPath}`,
        '--enable-mtls',
        `--sentry-address=127.0.0.1:${controlPlane.sentry.port}`,
        `--control-plane-trust-domain=${controlPlane.trustDomain}`,
        `--control-plane-namespace=${controlPlane.namespace}`,
        `--placement-host-address=127.0.0.1:${controlPlane.placement.port}`,
        `--scheduler-host-address=127.0.0.1:${controlPlane.scheduler.port}`,
      ],
      env: { DAPR_TRUST_ANCHORS: controlPlane.trustAnchorsPem, NAMESPACE: 'default' },
    });
    daprd = sidecar;
    await sidecar.waitHealthy(60_000);
    return sidecar;
  }

  function current(): Daprd {
    assert.ok(daprd, 'daprd is running');
    return daprd;
  }

  /** What daprd and our scheduler logged about jobs, for a failure message. */
  function context(): string {
    const pattern = /scheduler|job|remind|workflow|error|warn|fatal/i;
    return `\n--- daprd ${version} log (filtered) ---\n${grepTail(daprd?.logs() ?? '', pattern)}\n--- scheduler log ---\n${grepTail(controlPlane.scheduler.logs(), /./)}`;
  }

  async function call(path: string, init: { method?: string; body?: unknown } = {}): Promise<Reply> {
    const response = await fetch(`http://127.0.0.1:${current().httpPort}${path}`, {
      method: init.method ?? 'GET',
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(35_000),
    });
    return { status: response.status, body: await response.text() };
  }

  async function metadata(): Promise<Metadata> {
    return JSON.parse((await call('/v1.0/metadata')).body) as Metadata;
  }

  /** Fails with both logs attached. */
  async function withContext<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof Error) err.message += context();
      throw err;
    }
  }

  before(async () => {
    controlPlane = await startStandaloneControlPlane();
    app = await startSchedulerApp(ACTOR_TYPE);
    resourcesPath = await mkdtemp(join(tmpdir(), 'tsdapr-scheduler-daprd-'));
    await writeFile(join(resourcesPath, 'statestore.yaml'), STATE_STORE);
    await startSidecar();
  });

  after(async () => {
    await worker?.stop().catch(() => undefined);
    await daprd?.stop();
    await app?.close();
    await controlPlane?.stop();
    if (resourcesPath) await rm(resourcesPath, { recursive: true, force: true });
  });

  test('daprd connects to our scheduler and to placement', { timeout: 60_000 }, async () => {
    await withContext(() =>
      pollUntil('scheduler connected and actor host ready', async () => {
        const found = await metadata();
        if (found.actorRuntime?.placement !== 'placement: connected' || !found.actorRuntime.hostReady) throw new Error(`actorRuntime ${JSON.stringify(found.actorRuntime)}`);
        return JSON.stringify(found.scheduler?.connected_addresses) === JSON.stringify([`127.0.0.1:${controlPlane.scheduler.port}`]) ? true : undefined;
      }, { timeoutMs: 45_000 }),
    );
  });

  describe('Jobs API over HTTP', () => {
    const jobs = (name: string): string => `/v1.0-alpha1/jobs/${name}`;

    test('a one-shot job is returned by GET until it fires, delivered once with its data, then gone', { timeout: 30_000 }, async () => {
      const data = { a: 1, nested: { list: ['x', 2, null], flag: true } };
      const created = await call(jobs('once'), { method: 'POST', body: { dueTime: '2s', data } });
      assert.equal(created.status, 204, `schedule: ${created.body}${context()}`);
      const got = await call(jobs('once'));
      assert.equal(got.status, 200, `get before it fires: ${got.body}`);
      assert.equal(app.jobDeliveries('once').length, 0, 'not delivered before GET');
      const view = JSON.parse(got.body) as JobView;
      assert.equal(view.name, 'once');
      assert.equal(view.dueTime, '2s', 'the original due time string');
      assert.equal(view.schedule ?? '', '');
      // daprd stores `data` as an Any of google.protobuf.Value and GET renders that Any as protojson.
      assert.deepEqual(view.data, asValueAny(data));
      assert.deepEqual(view.failurePolicy, { constant: { interval: '1s', maxRetries: 3 } }, 'the default failure policy');

      await withContext(() => pollUntil('the trigger', async () => (app.jobDeliveries('once').length > 0 ? true : undefined), { timeoutMs: 15_000 }));
      const [delivery] = app.jobDeliveries('once');
      assert.deepEqual(JSON.parse(delivery?.body ?? ''), data);
      assert.match(delivery?.contentType ?? '', /^application\/json/);
      const gone = await pollUntil('GET fails once the job fired', async () => {
        const reply = await call(jobs('once'));
        return reply.status === 200 ? undefined : reply;
      }, { timeoutMs: 10_000 });
      assert.equal(gone.status, 500, gone.body);
      assert.match(gone.body, /not ?found/i);
      assert.equal(app.jobDeliveries('once').length, 1, 'delivered exactly once');
    });

    test('@every 1s with repeats 3 is delivered exactly 3 times, then the job is gone', { timeout: 30_000 }, async () => {
      const created = await call(jobs('thrice'), { method: 'POST', body: { schedule: '@every 1s', repeats: 3, data: 'tick' } });
      assert.equal(created.status, 204, `schedule: ${created.body}${context()}`);
      const view = JSON.parse((await call(jobs('thrice'))).body) as JobView;
      assert.equal(view.schedule, '@every 1s');
      assert.equal(view.repeats, 3);
      await withContext(() =>
        pollUntil('the job is gone after its repeats', async () => ((await call(jobs('thrice'))).status === 200 ? undefined : true), { timeoutMs: 15_000 }),
      );
      // No fourth trigger after the job is gone (a tick is consumed on the ack, before the delete).
      await assertHoldsFor('no fourth delivery', 1_500, () => app.jobDeliveries('thrice').length <= 3);
      const deliveries = app.jobDeliveries('thrice');
      assert.equal(deliveries.length, 3, `deliveries: ${deliveries.length}${context()}`);
      for (const delivery of deliveries) assert.equal(delivery.body, '"tick"');
      for (let i = 1; i < deliveries.length; i++) {
        const gap = (deliveries[i]?.at ?? 0) - (deliveries[i - 1]?.at ?? 0);
        assert.ok(gap >= 500, `ticks ${i - 1} and ${i} are ${gap}ms apart, expected about 1s`);
      }
    });

    test('a deleted job never fires', { timeout: 30_000 }, async () => {
      const createdAt = Date.now();
      const created = await call(jobs('deleted'), { method: 'POST', body: { dueTime: '2s', data: 'never' } });
      assert.equal(created.status, 204, created.body);
      const deleted = await call(jobs('deleted'), { method: 'DELETE' });
      assert.equal(deleted.status, 204, deleted.body);
      const got = await call(jobs('deleted'));
      assert.notEqual(got.status, 200, `GET after DELETE: ${got.body}`);
      // Until well past its due time (2 s), nothing arrives.
      await assertHoldsFor('the deleted job is not delivered', 4_000 - (Date.now() - createdAt), () => app.jobDeliveries('deleted').length === 0);
      assert.equal((await call(jobs('missing-never-created'), { method: 'DELETE' })).status, 204, 'DELETE of a missing job is 204 too');
    });

    test('a second POST is refused with 409 unless it sets overwrite, which replaces the job', { timeout: 30_000 }, async () => {
      const first = await call(jobs('replaced'), { method: 'POST', body: { dueTime: '1000s', data: 'first' } });
      assert.equal(first.status, 204, first.body);
      const duplicate = await call(jobs('replaced'), { method: 'POST', body: { dueTime: '2s', data: 'second' } });
      assert.equal(duplicate.status, 409, `duplicate: ${duplicate.body}`);
      assert.match(duplicate.body, /already exists/);
      assert.deepEqual((JSON.parse((await call(jobs('replaced'))).body) as JobView).data, asValueAny('first'), 'the refused POST changed nothing');
      const overwritten = await call(jobs('replaced'), { method: 'POST', body: { dueTime: '2s', data: 'second', overwrite: true } });
      assert.equal(overwritten.status, 204, overwritten.body);
      const view = JSON.parse((await call(jobs('replaced'))).body) as JobView;
      assert.equal(view.dueTime, '2s');
      assert.deepEqual(view.data, asValueAny('second'));
      await withContext(() => pollUntil('the replacing job fires', async () => (app.jobDeliveries('replaced').length > 0 ? true : undefined), { timeoutMs: 15_000 }));
      await pollUntil('the replaced job is gone', async () => ((await call(jobs('replaced'))).status === 200 ? undefined : true), { timeoutMs: 10_000 });
      assert.deepEqual(app.jobDeliveries('replaced').map((d) => d.body), ['"second"']);
    });

    test('failure policy: an app answering 500 gets 4 deliveries by default, 1 with drop', { timeout: 30_000 }, async () => {
      app.answerJob('fails-default', 500);
      app.answerJob('fails-drop', 500);
      const byDefault = await call(jobs('fails-default'), { method: 'POST', body: { dueTime: '1s', data: 'd' } });
      assert.equal(byDefault.status, 204, byDefault.body);
      const dropped = await call(jobs('fails-drop'), { method: 'POST', body: { dueTime: '1s', data: 'd', failure_policy: { drop: {} } } });
      assert.equal(dropped.status, 204, dropped.body);
      assert.deepEqual((JSON.parse((await call(jobs('fails-drop'))).body) as JobView).failurePolicy, { drop: {} });
      await withContext(() => pollUntil('4 attempts of the default policy', async () => (app.jobDeliveries('fails-default').length >= 4 ? true : undefined), { timeoutMs: 15_000 }));
      await withContext(() =>
        pollUntil('both jobs are gone once their policy gave up', async () => {
          for (const name of ['fails-default', 'fails-drop']) if ((await call(jobs(name))).status === 200) return undefined;
          return true;
        }, { timeoutMs: 10_000 }),
      );
      // The default retries every 1 s; a fifth attempt would come within that.
      await assertHoldsFor('no more attempts', 1_500, () => app.jobDeliveries('fails-default').length <= 4 && app.jobDeliveries('fails-drop').length <= 1);
      const attempts = app.jobDeliveries('fails-default');
      assert.equal(attempts.length, 4, 'the default policy: 1 delivery and 3 retries');
      for (let i = 1; i < attempts.length; i++) {
        const gap = (attempts[i]?.at ?? 0) - (attempts[i - 1]?.at ?? 0);
        assert.ok(gap >= 500, `attempts ${i - 1} and ${i} are ${gap}ms apart, expected about 1s`);
      }
      assert.equal(app.jobDeliveries('fails-drop').length, 1, 'drop: no retry');
    });

    if (version !== '1.17.5') {
      test('the stable /v1.0/jobs API schedules, reads and delivers through the scheduler too', { timeout: 30_000 }, async () => {
        const created = await call('/v1.0/jobs/stable', { method: 'POST', body: { dueTime: '2s', data: { stable: true } } });
        assert.equal(created.status, 204, `stable schedule: ${created.body}${context()}`);
        const got = await call('/v1.0/jobs/stable');
        assert.equal(got.status, 200, got.body);
        assert.deepEqual((JSON.parse(got.body) as JobView).data, asValueAny({ stable: true }));
        assert.equal((await call(jobs('stable'))).status, 200, 'the alpha path sees the same job');
        await withContext(() => pollUntil('the stable job fires', async () => (app.jobDeliveries('stable').length > 0 ? true : undefined), { timeoutMs: 15_000 }));
        assert.deepEqual(JSON.parse(app.jobDeliveries('stable')[0]?.body ?? ''), { stable: true });
        const deleteCreated = await call('/v1.0/jobs/stable-deleted', { method: 'POST', body: { dueTime: '1000s', data: 1 } });
        assert.equal(deleteCreated.status, 204, deleteCreated.body);
        assert.equal((await call('/v1.0/jobs/stable-deleted', { method: 'DELETE' })).status, 204);
        assert.notEqual((await call('/v1.0/jobs/stable-deleted')).status, 200, 'gone after the stable DELETE');
      });
    }
  });

  describe('actor reminders', () => {
    const ACTOR_ID = 'a1';
    const reminderPath = `/v1.0/actors/${ACTOR_TYPE}/${ACTOR_ID}/reminders/r1`;
    const fired = (): number => app.reminderDeliveries(ACTOR_ID, 'r1').length;

    /** Waits for `more` deliveries beyond the count now. */
    async function firesAgain(what: string, more: number, timeoutMs: number): Promise<void> {
      const from = fired();
      await withContext(() => pollUntil(what, async () => (fired() >= from + more ? true : undefined), { timeoutMs }));
    }

    test('a reminder registered on an active actor fires every period with its data', { timeout: 45_000 }, async () => {
      await withContext(() =>
        pollUntil('an actor call succeeds', async () => {
          const reply = await call(`/v1.0/actors/${ACTOR_TYPE}/${ACTOR_ID}/method/ping`, { method: 'PUT', body: {} });
          if (reply.status !== 200) throw new Error(`HTTP ${reply.status} ${reply.body}`);
          return true;
        }, { timeoutMs: 30_000 }),
      );
      const created = await call(reminderPath, { method: 'POST', body: { dueTime: '1s', period: '1s', data: { k: 'v' } } });
      assert.equal(created.status, 204, `register: ${created.body}${context()}`);
      await firesAgain('three reminder deliveries', 3, 20_000);
      for (const delivery of app.reminderDeliveries(ACTOR_ID, 'r1')) {
        assert.deepEqual(JSON.parse(delivery.body), { data: { k: 'v' }, dueTime: '', period: '' });
      }
      const got = await call(reminderPath);
      assert.equal(got.status, 200, `get reminder: ${got.body}`);
    });

    test('the reminder keeps firing after daprd restarts', { timeout: 90_000 }, async () => {
      await current().stop();
      daprd = undefined;
      const whileDown = fired();
      await startSidecar();
      await firesAgain('deliveries through the new sidecar', 2, 45_000);
      assert.ok(fired() >= whileDown + 2);
    });

    test('the reminder keeps firing after the scheduler is killed and restarted', { timeout: 90_000 }, async () => {
      await firesAgain('the reminder fires before the kill', 1, 15_000);
      await controlPlane.scheduler.process.kill();
      const atKill = fired();
      await controlPlane.restartScheduler();
      // At least two more than at the kill: at most one trigger could have been in flight when it died.
      await withContext(() => pollUntil('deliveries after the scheduler restart', async () => (fired() >= atKill + 2 ? true : undefined), { timeoutMs: 45_000 }));
    });

    test('an unregistered reminder stops firing', { timeout: 30_000 }, async () => {
      const deleted = await call(reminderPath, { method: 'DELETE' });
      assert.equal(deleted.status, 204, `unregister: ${deleted.body}`);
      const deletedAt = Date.now();
      const atDelete = fired();
      // A trigger daprd was already delivering may still land right after the DELETE; nothing later.
      await assertHoldsFor('no delivery after DELETE over 2.5 periods', 2_500, () => fired() <= atDelete + 1);
      const late = app.reminderDeliveries(ACTOR_ID, 'r1').filter((delivery) => delivery.at > deletedAt + 500);
      assert.deepEqual(late, [], 'deliveries more than 500ms after DELETE');
      const got = await call(reminderPath);
      assert.notEqual(got.status, 200, `GET after DELETE: ${got.body}`);
    });
  });

  describe('workflows (Dapr JS SDK @dapr/dapr 3.18.0)', () => {
    test('a workflow with an activity and a 2 s durable timer completes', { timeout: 60_000 }, async () => {
      worker = await startWorkflowWorker(current().grpcPort);
      const activitiesBefore = activityRuns.length;
      const started = Date.now();
      const id = await worker.client.scheduleNewWorkflow(greetThenWait, { name: 'one', timerSeconds: 2 });
      const state = await withContext(async () => worker?.client.waitForWorkflowCompletion(id, true, 45));
      assert.equal(state?.runtimeStatus, WorkflowRuntimeStatus.COMPLETED, `status ${state?.runtimeStatus}: ${JSON.stringify(state?.workflowFailureDetails)}${context()}`);
      assert.equal(state.serializedOutput, JSON.stringify('hello one, after 2s'));
      assert.ok(Date.now() - started >= 1_000, 'the timer waited');
      assert.deepEqual(activityRuns.slice(activitiesBefore), ['one'], 'the activity ran once');
    });

    test('a workflow waiting on its timer completes after the scheduler is killed and restarted', { timeout: 90_000 }, async () => {
      assert.ok(worker, 'the worker from the previous test');
      const client = worker.client;
      // 4 s, so the kill lands inside the timer even though daprd rounds its due time to whole seconds.
      const id = await client.scheduleNewWorkflow(greetThenWait, { name: 'two', timerSeconds: 4 });
      await withContext(() =>
        pollUntil('the workflow waits on its timer', async () => {
          const state = await client.getWorkflowState(id, true);
          return state?.customStatus?.includes(WAITING_STATUS) ? state : undefined;
        }, { timeoutMs: 30_000, intervalMs: 100 }),
      );
      await controlPlane.scheduler.process.kill();
      const killedAt = Date.now();
      // Past the timer's due time, with no scheduler nothing can fire it.
      await assertHoldsFor('the workflow stays running without a scheduler', 5_000, async () => (await client.getWorkflowState(id, false))?.runtimeStatus === WorkflowRuntimeStatus.RUNNING);
      await controlPlane.restartScheduler();
      const state = await withContext(async () => client.waitForWorkflowCompletion(id, true, 60));
      assert.equal(state?.runtimeStatus, WorkflowRuntimeStatus.COMPLETED, `status ${state?.runtimeStatus}${context()}`);
      assert.equal(state.serializedOutput, JSON.stringify('hello two, after 4s'));
      assert.ok(Date.now() - killedAt >= 5_000);
    });
  });
}
