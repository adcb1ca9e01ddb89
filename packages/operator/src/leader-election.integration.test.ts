import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { createTestNamespace, pollUntil, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import { isNotFound } from '@tsdapr/kube';
import { OPERATOR_LEASE_NAME } from './options.js';
import { installCrds } from './test-support/install-crds.js';
import { startOperatorInNamespace, type OperatorProcess } from './test-support/operator-process.js';

/**
 * Two operator processes against the real kube-apiserver: only the holder of
 * the Lease `operator.dapr.io` writes (creates `<app-id>-dapr` Services);
 * SIGKILL it and the other takes the Lease over and reconciles a new
 * Deployment. The takeover time is printed.
 */

const TIMINGS = { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 };

let kubeConfig: KubeConfig;
let ns: TestNamespace;
const operators: OperatorProcess[] = [];

before(async () => {
  requireTestCluster();
  kubeConfig = testKubeConfig();
  await installCrds(kubeConfig);
  ns = await createTestNamespace('operator-lease');
});

after(async () => {
  await Promise.all(operators.map((operator) => operator.stop()));
  await ns?.cleanup();
});

async function startReplica(): Promise<OperatorProcess> {
  // The operator runs in the test namespace (its control-plane namespace), so the Lease lives there too.
  const operator = await startOperatorInNamespace(ns.name, [
    '--enable-webhooks=false',
    `--leader-election-lease-duration=${TIMINGS.leaseDurationMs}ms`,
    `--leader-election-renew-deadline=${TIMINGS.renewDeadlineMs}ms`,
    `--leader-election-retry-period=${TIMINGS.retryPeriodMs}ms`,
  ]);
  operators.push(operator);
  return operator;
}

function deployment(name: string): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': name } }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
    },
  };
}

async function service(name: string): Promise<V1Service | undefined> {
  try {
    return await kubeConfig.makeApiClient(CoreV1Api).readNamespacedService({ namespace: ns.name, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function leaderStatus(operator: OperatorProcess): Promise<number | undefined> {
  const match = /^dapr_operator_leader_status (\d)/m.exec(await operator.metrics().catch(() => ''));
  return match ? Number(match[1]) : undefined;
}

test('only the Lease holder creates <app-id>-dapr Services; after a SIGKILL the other replica takes over', async () => {
  const first = await startReplica();
  const second = await startReplica();
  const apps = kubeConfig.makeApiClient(AppsV1Api);

  const [leader, follower] = await pollUntil('exactly one leader', async () => {
    const statuses = await Promise.all([leaderStatus(first), leaderStatus(second)]);
    if (statuses[0] === 1 && statuses[1] === 0) return [first, second] as const;
    if (statuses[0] === 0 && statuses[1] === 1) return [second, first] as const;
    return undefined;
  }, { timeoutMs: 20_000 });
  const lease = await kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns.name, name: OPERATOR_LEASE_NAME });
  assert.ok(lease.spec?.holderIdentity, 'the Lease names its holder');

  await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('before') });
  await pollUntil('before-dapr Service', () => service('before-dapr'), { timeoutMs: 15_000 });
  assert.match(await leader.metrics(), /dapr_operator_service_created_total\{app_id="before"\} 1/);
  assert.doesNotMatch(await follower.metrics(), /dapr_operator_service_created_total\{app_id=/, 'the follower wrote nothing');
  assert.equal(await leaderStatus(follower), 0);

  process.kill(leader.process.pid, 'SIGKILL');
  await leader.process.exited;
  const killedAt = Date.now();
  await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('after') });
  await pollUntil('after-dapr Service from the new leader', () => service('after-dapr'), { timeoutMs: 30_000 });
  const takeoverMs = Date.now() - killedAt;
  console.log(`operator takeover: the surviving replica created after-dapr ${takeoverMs} ms after the leader was SIGKILLed (lease duration ${TIMINGS.leaseDurationMs} ms)`);

  assert.equal(await leaderStatus(follower), 1);
  assert.match(await follower.metrics(), /dapr_operator_service_created_total\{app_id="after"\} 1/);
  const taken = await kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns.name, name: OPERATOR_LEASE_NAME });
  assert.notEqual(taken.spec?.holderIdentity, lease.spec?.holderIdentity);
  assert.equal(taken.spec?.leaseTransitions, (lease.spec?.leaseTransitions ?? 0) + 1);
  // A crashed holder never released the Lease: the takeover waits out one lease duration, no more than a few retry periods beyond.
  assert.ok(takeoverMs < TIMINGS.leaseDurationMs + 10_000, `takeover took ${takeoverMs} ms`);
});
