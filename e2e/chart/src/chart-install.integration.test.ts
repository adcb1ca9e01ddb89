import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdmissionregistrationV1Api, ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, PolicyV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, pollUntil, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import { chartDir, helmOk, valuesFile } from './helm.js';

/**
 * Installs the chart into the real test API server (no kubelet: pods stay
 * Pending), upgrades it with other values and a changed CRD schema, and
 * uninstalls it. The webhook is limited to the test namespace so that pods of
 * other tests sharing the cluster never reach it.
 */
const RELEASE = 'tsdapr';
const CRD_NAMES = ['components.dapr.io', 'configurations.dapr.io', 'httpendpoints.dapr.io', 'resiliencies.dapr.io', 'subscriptions.dapr.io'];
const UPGRADED_DESCRIPTION = 'The component version, for example v1. (changed by the chart upgrade test)';

describe('helm install, upgrade and uninstall against the real API server', () => {
  let kubeconfigPath: string;
  let kc: KubeConfig;
  let ns: TestNamespace;
  let chartCopy: string;
  const values = (): Record<string, unknown> => ({
    dapr_sidecar_injector: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } } },
  });

  before(async () => {
    kubeconfigPath = requireTestCluster();
    kc = testKubeConfig();
    ns = await createTestNamespace('chart');
    await adoptExistingCrds(kc, ns.name);
    // A copy of the chart with one CRD's schema changed, for the upgrade.
    chartCopy = mkdtempSync(join(tmpdir(), 'tsdapr-chart-'));
    cpSync(chartDir(), chartCopy, { recursive: true });
    const crdFile = join(chartCopy, 'templates', 'crds', 'components.yaml');
    const original = readFileSync(crdFile, 'utf8');
    const changed = original.replace('description: The component version, for example v1.', `description: ${UPGRADED_DESCRIPTION}`);
    assert.notEqual(changed, original, 'the components CRD no longer has the description this test changes');
    writeFileSync(crdFile, changed);
  });

  after(async () => {
    if (chartCopy) rmSync(chartCopy, { recursive: true, force: true });
    if (ns) {
      await helmOk(['uninstall', RELEASE, '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '--ignore-not-found']).catch(() => undefined);
      await ns.cleanup();
    }
  });

  test('install: every object is accepted', async () => {
    const file = valuesFile(values());
    try {
      await helmOk(['install', RELEASE, chartDir(), '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '-f', file.path, '--timeout', '2m']);
    } finally {
      file.cleanup();
    }
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of ['dapr-sentry', 'dapr-operator', 'dapr-sidecar-injector']) {
      assert.equal((await apps.readNamespacedDeployment({ name, namespace: ns.name })).spec?.replicas, 1, name);
    }
    assert.equal((await apps.readNamespacedStatefulSet({ name: 'dapr-placement-server', namespace: ns.name })).spec?.replicas, 1);
    const services = (await core.listNamespacedService({ namespace: ns.name })).items.map((s) => s.metadata?.name).sort();
    assert.deepEqual(services, ['dapr-api', 'dapr-placement-server', 'dapr-sentry', 'dapr-sidecar-injector', 'dapr-webhook']);
    const accounts = (await core.listNamespacedServiceAccount({ namespace: ns.name })).items.map((s) => s.metadata?.name);
    for (const sa of ['dapr-sentry', 'dapr-operator', 'dapr-placement', 'dapr-injector']) assert.ok(accounts.includes(sa), sa);
    assert.ok(await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: ns.name }));
    assert.ok(await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: ns.name }));
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    for (const name of ['dapr-sentry', 'dapr-operator-admin', 'dapr-injector']) assert.ok(await rbac.readClusterRole({ name }), name);
    for (const name of ['dapr-sentry', 'dapr-operator', 'dapr-placement', 'dapr-injector']) assert.ok(await rbac.readNamespacedRole({ name, namespace: ns.name }), name);
    const webhook = await kc.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: 'dapr-sidecar-injector' });
    assert.equal(webhook.webhooks?.[0]?.clientConfig.service?.namespace, ns.name);
    const configuration = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'configurations', name: 'daprsystem' })) as { spec: { mtls: { enabled: boolean } } };
    assert.equal(configuration.spec.mtls.enabled, true);
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    for (const name of CRD_NAMES) {
      const crd = await extensions.readCustomResourceDefinition({ name });
      assert.equal(crd.metadata?.annotations?.['helm.sh/resource-policy'], 'keep', name);
    }
    // The controller manager turns the workloads into pods (Pending: no kubelet); their specs were accepted.
    const pods = await pollUntil('four control-plane pods', async () => {
      const list = (await core.listNamespacedPod({ namespace: ns.name })).items;
      return list.length >= 4 ? list : undefined;
    }, { timeoutMs: 30_000 });
    const planes = pods.map((p) => p.metadata?.annotations?.['dapr.io/control-plane']).sort();
    assert.deepEqual(planes, ['injector', 'operator', 'placement', 'sentry']);
    const placementPod = pods.find((p) => p.metadata?.annotations?.['dapr.io/control-plane'] === 'placement');
    const token = placementPod?.spec?.volumes?.find((v) => v.name === 'dapr-identity-token')?.projected?.sources?.[0]?.serviceAccountToken;
    assert.equal(token?.audience, `spiffe://cluster.local/ns/${ns.name}/dapr-sentry`);
  });

  test('upgrade: a CRD schema and values change, Components survive', async () => {
    const objects = kc.makeApiClient(CustomObjectsApi);
    await objects.createNamespacedCustomObject({
      group: 'dapr.io',
      version: 'v1alpha1',
      namespace: ns.name,
      plural: 'components',
      body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'statestore' }, spec: { type: 'state.in-memory', version: 'v1', metadata: [] } },
    });
    const file = valuesFile({ ...values(), global: { ha: { enabled: true } }, dapr_sentry: { logLevel: 'debug' } });
    try {
      await helmOk(['upgrade', RELEASE, chartCopy, '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '-f', file.path, '--timeout', '2m']);
    } finally {
      file.cleanup();
    }
    const apps = kc.makeApiClient(AppsV1Api);
    const sentry = await apps.readNamespacedDeployment({ name: 'dapr-sentry', namespace: ns.name });
    assert.equal(sentry.spec?.replicas, 3);
    assert.ok(sentry.spec?.template.spec?.containers[0]?.args?.includes('--log-level=debug'));
    assert.ok(sentry.spec?.template.spec?.affinity?.podAntiAffinity, 'anti-affinity in HA');
    assert.equal((await apps.readNamespacedStatefulSet({ name: 'dapr-placement-server', namespace: ns.name })).spec?.replicas, 3);
    const pdbs = (await kc.makeApiClient(PolicyV1Api).listNamespacedPodDisruptionBudget({ namespace: ns.name })).items.map((p) => p.metadata?.name).sort();
    assert.deepEqual(pdbs, ['dapr-operator-disruption-budget', 'dapr-placement-server-disruption-budget', 'dapr-sentry-budget', 'dapr-sidecar-injector-disruption-budget']);
    const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'components.dapr.io' });
    const spec = crd.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.spec;
    assert.equal(spec?.properties?.version?.description, UPGRADED_DESCRIPTION, 'helm upgrade changed the CRD schema');
    const component = (await objects.getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'components', name: 'statestore' })) as { spec: { type: string } };
    assert.equal(component.spec.type, 'state.in-memory');
  });

  test('uninstall: the control plane goes, CRDs and custom resources stay', async () => {
    await helmOk(['uninstall', RELEASE, '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '--wait', '--timeout', '2m']);
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    assert.deepEqual((await apps.listNamespacedDeployment({ namespace: ns.name })).items.map((d) => d.metadata?.name), []);
    assert.deepEqual((await apps.listNamespacedStatefulSet({ namespace: ns.name })).items.map((d) => d.metadata?.name), []);
    assert.deepEqual((await core.listNamespacedService({ namespace: ns.name })).items.map((d) => d.metadata?.name), []);
    const leftSecrets = (await core.listNamespacedSecret({ namespace: ns.name })).items.map((s) => s.metadata?.name);
    assert.ok(!leftSecrets.includes('dapr-trust-bundle'), 'trust bundle Secret removed');
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    assert.ok(!(await rbac.listClusterRole()).items.some((r) => ['dapr-sentry', 'dapr-operator-admin', 'dapr-injector'].includes(r.metadata?.name ?? '')), 'ClusterRoles removed');
    assert.ok(!(await kc.makeApiClient(AdmissionregistrationV1Api).listMutatingWebhookConfiguration()).items.some((w) => w.metadata?.name === 'dapr-sidecar-injector'), 'webhook removed');
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    for (const name of CRD_NAMES) assert.ok(await extensions.readCustomResourceDefinition({ name }), `${name} kept`);
    const component = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'components', name: 'statestore' })) as { metadata: { name: string } };
    assert.equal(component.metadata.name, 'statestore');
  });
});

/**
 * CRDs created outside Helm (by another test, or by upstream Dapr's chart,
 * whose crds/ folder carries no ownership) are adopted the way Helm documents:
 * the managed-by label and the release annotations.
 */
async function adoptExistingCrds(kc: KubeConfig, namespace: string): Promise<void> {
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const existing = (await extensions.listCustomResourceDefinition()).items.filter((c) => CRD_NAMES.includes(c.metadata?.name ?? ''));
  for (const crd of existing) {
    const patch = [
      { op: 'add', path: '/metadata/labels', value: { ...crd.metadata?.labels, 'app.kubernetes.io/managed-by': 'Helm' } },
      { op: 'add', path: '/metadata/annotations', value: { ...crd.metadata?.annotations, 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': namespace } },
    ];
    await extensions.patchCustomResourceDefinition({ name: crd.metadata?.name ?? '', body: patch });
  }
}
