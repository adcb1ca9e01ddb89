import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { createTestNamespace, pollUntil, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import { isNotFound, retryOnConflict } from '@tsdapr/kube';
import { installCrds } from '../../test-support/install-crds.js';
import { startOperatorInNamespace, type OperatorProcess } from '../../test-support/operator-process.js';

let kubeConfig: KubeConfig;
let ns: TestNamespace;
let operator: OperatorProcess;

before(async () => {
  requireTestCluster();
  kubeConfig = testKubeConfig();
  await installCrds(kubeConfig);
  ns = await createTestNamespace('operator-svc');
  operator = await startOperatorInNamespace(ns.name, ['--enable-webhooks=false']);
});

after(async () => {
  await operator?.stop();
  await ns?.cleanup();
});

function deployment(name: string, annotations: Record<string, string>): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
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

/** Changes the pod template's annotations; the controller manager writes the Deployment's status meanwhile. */
async function annotateTemplate(name: string, change: (annotations: Record<string, string>) => void): Promise<void> {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  await retryOnConflict(async () => {
    const current = await apps.readNamespacedDeployment({ namespace: ns.name, name });
    change((current.spec!.template.metadata!.annotations ??= {}));
    await apps.replaceNamespacedDeployment({ namespace: ns.name, name, body: current });
  });
}

/**
 * The test can read a Service written before the operator has the API
 * server's response and counts it, so a count is awaited, not read once.
 */
async function metricReaches(pattern: RegExp): Promise<void> {
  let last = '';
  try {
    await pollUntil(`metric ${pattern.source}`, async () => {
      last = await operator.metrics();
      return pattern.test(last) ? true : undefined;
    }, { timeoutMs: 5_000 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${last.split('\n').filter((line) => line.startsWith('dapr_operator_service')).join('\n')}`, { cause: err });
  }
}

test('an annotated Deployment gets its headless <app-id>-dapr Service, updated when the workload changes', async () => {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const created = await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('orders', { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders' }) });
  await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('plain', { 'dapr.io/app-id': 'plain' }) });

  const svc = await pollUntil('orders-dapr Service', () => service('orders-dapr'), { timeoutMs: 15_000 });
  assert.equal(svc.spec?.clusterIP, 'None');
  assert.deepEqual(svc.metadata?.labels, { 'dapr.io/enabled': 'true' });
  assert.equal(svc.metadata?.annotations?.['prometheus.io/port'], '9090');
  assert.deepEqual(svc.spec?.selector, { app: 'orders' });
  assert.deepEqual(svc.spec?.ports?.map((p) => [p.name, p.port, Number(p.targetPort)]), [['dapr-http', 80, 3500], ['dapr-grpc', 50001, 50001], ['dapr-internal', 50002, 50002], ['dapr-metrics', 9090, 9090]]);
  assert.equal(svc.metadata?.ownerReferences?.[0]?.uid, created.metadata?.uid);
  assert.equal(svc.metadata?.ownerReferences?.[0]?.controller, true);

  await annotateTemplate('orders', (annotations) => (annotations['dapr.io/metrics-port'] = '9876'));
  const updated = await pollUntil('Service updated', async () => {
    const s = await service('orders-dapr');
    return s?.metadata?.annotations?.['prometheus.io/port'] === '9876' ? s : undefined;
  }, { timeoutMs: 15_000 });
  assert.equal(updated.spec?.ports?.find((p) => p.name === 'dapr-metrics')?.port, 9876);

  assert.equal(await service('plain-dapr'), undefined, 'no Service for a workload without dapr.io/enabled');
  await metricReaches(/dapr_operator_service_created_total\{app_id="orders"\} 1\n/);
  await metricReaches(/dapr_operator_service_updated_total\{app_id="orders"\} 1\n/);
});

test('a Deployment that stops being Dapr-enabled loses its Service (beyond upstream, which leaves it behind)', async () => {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('billing', { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'billing' }) });
  const created = await pollUntil('billing-dapr Service', () => service('billing-dapr'), { timeoutMs: 15_000 });

  await annotateTemplate('billing', (annotations) => delete annotations['dapr.io/enabled']);
  await pollUntil('billing-dapr Service deleted', async () => ((await service('billing-dapr')) === undefined ? true : undefined), { timeoutMs: 15_000 });
  await metricReaches(/dapr_operator_service_deleted_total\{app_id="billing"\} 1\n/);

  // Enabled again: a new Service (another uid).
  await annotateTemplate('billing', (annotations) => (annotations['dapr.io/enabled'] = 'true'));
  const recreated = await pollUntil('billing-dapr Service again', () => service('billing-dapr'), { timeoutMs: 15_000 });
  assert.notEqual(recreated.metadata?.uid, created.metadata?.uid);
});

test('an app id change moves the Service to the new name', async () => {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('renamed', { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'first-name' }) });
  await pollUntil('first-name-dapr Service', () => service('first-name-dapr'), { timeoutMs: 15_000 });
  await annotateTemplate('renamed', (annotations) => (annotations['dapr.io/app-id'] = 'second-name'));
  await pollUntil('second-name-dapr Service', () => service('second-name-dapr'), { timeoutMs: 15_000 });
  try {
    await pollUntil('first-name-dapr Service deleted', async () => ((await service('first-name-dapr')) === undefined ? true : undefined), { timeoutMs: 15_000 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\noperator log:\n${operator.logs().slice(-4000)}`, { cause: err });
  }
});
