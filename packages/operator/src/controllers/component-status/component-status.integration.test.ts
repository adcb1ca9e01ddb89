import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, pollUntil, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import { installCrds } from '../../test-support/install-crds.js';
import { kubeRequest, statusMessage } from '../../test-support/kube-http.js';
import { startOperatorInNamespace, type OperatorProcess } from '../../test-support/operator-process.js';

type Condition = { type: string; status: string; reason: string; message: string };

let kubeConfig: KubeConfig;
let ns: TestNamespace;
let operator: OperatorProcess;

/**
 * With the webhooks off (or the operator down when a Component was applied),
 * nothing stops a Component the webhook would deny: its status still says so.
 */
before(async () => {
  requireTestCluster();
  kubeConfig = testKubeConfig();
  await installCrds(kubeConfig);
  ns = await createTestNamespace('component-status');
  operator = await startOperatorInNamespace(ns.name, ['--enable-webhooks=false', '--disable-service-reconciler', '--component-status-resync-period', '2s']);
});

after(async () => {
  await operator?.stop();
  await ns?.cleanup();
});

async function create(name: string, metadata: unknown[]): Promise<void> {
  const response = await kubeRequest(kubeConfig, 'POST', `/apis/dapr.io/v1alpha1/namespaces/${ns.name}/components`, { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name }, spec: { type: 'state.redis', version: 'v1', metadata } });
  assert.equal(response.status, 201, statusMessage(response));
}

const valid = (name: string): Promise<Condition> =>
  pollUntil(`the Valid condition of ${name}`, async () => {
    const body = (await kubeRequest(kubeConfig, 'GET', `/apis/dapr.io/v1alpha1/namespaces/${ns.name}/components/${name}`)).body as { status?: { conditions?: Condition[] } };
    return body.status?.conditions?.find((c) => c.type === 'Valid');
  }, { timeoutMs: 30_000 });

test('a Component the webhook warns about (the same metadata name twice) has Valid=True with the warning, naming the entry daprd uses', async () => {
  await create('twice', [{ name: 'redisHost', value: 'a:6379' }, { name: 'redisHost', value: 'b:6379' }]);
  const condition = await valid('twice');
  assert.deepEqual([condition.status, condition.reason], ['True', 'ValidWithWarnings']);
  assert.match(condition.message, /"redisHost" is set 2 times \(spec.metadata\[0\], spec.metadata\[1\]\); daprd uses the last, spec.metadata\[1\]/);
});

test('a secretKeyRef to a missing Secret: Valid=True with the warning', async () => {
  await create('needs-secret', [{ name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } }]);
  const condition = await valid('needs-secret');
  assert.deepEqual([condition.status, condition.reason], ['True', 'ValidWithWarnings']);
  assert.match(condition.message, /Secret "redis" does not exist in this namespace/);
});

test('a clean Component: Valid=True, reason Valid; the writer logs no error', async () => {
  await create('clean', [{ name: 'redisHost', value: 'a:6379' }]);
  const condition = await valid('clean');
  assert.deepEqual([condition.status, condition.reason], ['True', 'Valid']);
  assert.doesNotMatch(await operator.metrics(), /dapr_operator_reconcile_errors_total\{controller="component-status"/);
});

test('a Secret created after the check: the periodic resync (no Secret watch) clears the warning', async () => {
  await create('late-secret', [{ name: 'redisPassword', secretKeyRef: { name: 'late', key: 'password' } }]);
  const before = await valid('late-secret');
  assert.equal(before.reason, 'ValidWithWarnings');
  const created = await kubeRequest(kubeConfig, 'POST', `/api/v1/namespaces/${ns.name}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'late' }, data: { password: Buffer.from('s3cret').toString('base64') } });
  assert.equal(created.status, 201, statusMessage(created));
  // Nothing about the Component or its namespace's workloads changed: only the 2 s resync can see it.
  const after = await pollUntil('Valid without the warning', async () => {
    const body = (await kubeRequest(kubeConfig, 'GET', `/apis/dapr.io/v1alpha1/namespaces/${ns.name}/components/late-secret`)).body as { status?: { conditions?: Condition[] } };
    const condition = body.status?.conditions?.find((c) => c.type === 'Valid');
    return condition?.reason === 'Valid' ? condition : undefined;
  }, { timeoutMs: 15_000 });
  assert.equal(after.status, 'True');
});
