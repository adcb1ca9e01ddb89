import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { load } from 'js-yaml';
import { AdmissionregistrationV1Api, AppsV1Api, CustomObjectsApi, type KubeConfig, type V1Deployment, type V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { binaryPath, createTestNamespace, pollUntil, repoRoot, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import { kubeStatusOf, retryOnConflict } from '@tsdapr/kube';
import { installCrds } from '../test-support/install-crds.js';
import { kubeRequest, statusMessage } from '../test-support/kube-http.js';
import { startOperatorInNamespace, type OperatorProcess } from '../test-support/operator-process.js';
import { createTestPki } from '../test-support/test-identities.js';
import { desiredValidatingWebhookConfiguration, ownedWebhookFields, webhookClientConfig } from '../webhooks/webhook-registration.js';

type Body = Record<string, unknown>;

const run = promisify(execFile);

const component = (spec: Body, extra: Body = {}): Body => ({ apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'c' }, spec, ...extra });
const resiliency = (spec: Body): Body => ({ apiVersion: 'dapr.io/v1alpha1', kind: 'Resiliency', metadata: { name: 'r' }, spec });

interface Case {
  readonly name: string;
  readonly plural: string;
  readonly version?: string;
  readonly body: Body;
  /** undefined: accepted; a RegExp: rejected with a message matching it. */
  readonly rejected?: RegExp;
}

const cases: Case[] = [
  // Accepted: everything upstream accepts, including metadata values of any JSON type.
  {
    name: 'a state store with string, number, bool, object and secret metadata',
    plural: 'components',
    body: component(
      {
        type: 'state.redis',
        version: 'v1',
        initTimeout: '30s',
        ignoreErrors: true,
        metadata: [
          { name: 'redisHost', value: 'localhost:6379' },
          { name: 'maxRetries', value: 3 },
          { name: 'enableTLS', value: false },
          { name: 'nested', value: { a: [1, 2] } },
          { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } },
          { name: 'fromEnv', envRef: 'REDIS_USER' },
        ],
      },
      { auth: { secretStore: 'kubernetes' }, scopes: ['app1'] },
    ),
  },
  { name: 'an HTTP middleware', plural: 'components', body: component({ type: 'middleware.http.oauth2', version: 'v1', metadata: [] }) },
  { name: 'a component with no metadata at all', plural: 'components', body: component({ type: 'pubsub.in-memory', version: 'v1' }) },
  {
    name: 'a resiliency whose targets name its own policies',
    plural: 'resiliencies',
    body: resiliency({
      policies: { timeouts: { general: '5s' }, retries: { retryForever: { policy: 'constant', duration: '500ms', maxRetries: -1 } }, circuitBreakers: { simpleCB: { maxRequests: 1, timeout: '30s', trip: 'consecutiveFailures >= 5' } } },
      targets: { apps: { appB: { timeout: 'general', retry: 'retryForever', circuitBreaker: 'simpleCB' } }, actors: { myActor: { timeout: 'general', circuitBreakerScope: 'both' } }, components: { statestore: { outbound: { retry: 'retryForever', circuitBreaker: 'simpleCB' } } } },
    }),
  },
  { name: 'a v2alpha1 subscription with rules', plural: 'subscriptions', version: 'v2alpha1', body: { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 's' }, spec: { pubsubname: 'pubsub', topic: 'orders', routes: { rules: [{ match: 'event.type == "a"', path: '/a' }], default: '/orders' }, bulkSubscribe: { enabled: true, maxMessagesCount: 100 } }, scopes: ['app1'] } },
  { name: 'an HTTP endpoint', plural: 'httpendpoints', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'HTTPEndpoint', metadata: { name: 'h' }, spec: { baseUrl: 'https://api.example.com', headers: [{ name: 'x-token', secretKeyRef: { name: 'tok', key: 'tok' } }] } } },
  { name: 'a daprsystem configuration with unknown future fields', plural: 'configurations', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name: 'daprsystem' }, spec: { mtls: { enabled: true, workloadCertTTL: '24h', allowedClockSkew: '15m', controlPlaneTrustDomain: 'cluster.local' }, tracing: { samplingRate: '1' }, somethingNew: { x: 1 } } } },

  // Issue #19: upstream admits these and daprd 1.17 loads them, so we admit them (the webhook warns about the Components).
  { name: 'a component type without a category', plural: 'components', body: component({ type: 'redis', version: 'v1' }) },
  { name: 'a metadata entry with both secretKeyRef and envRef', plural: 'components', body: component({ type: 'state.redis', version: 'v1', metadata: [{ name: 'pw', secretKeyRef: { name: 's' }, envRef: 'PW' }] }) },
  { name: 'an initTimeout that is not a duration', plural: 'components', body: component({ type: 'state.redis', version: 'v1', initTimeout: '30 seconds' }) },
  { name: 'a resiliency retry target naming a policy defined elsewhere', plural: 'resiliencies', body: resiliency({ policies: { retries: {} }, targets: { apps: { appB: { retry: 'nope' } } } }) },
  { name: 'a subscription with neither rules nor a default route', plural: 'subscriptions', version: 'v2alpha1', body: { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 's2' }, spec: { pubsubname: 'p', topic: 't', routes: {} } } },
  { name: 'an HTTP endpoint whose baseUrl has no scheme', plural: 'httpendpoints', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'HTTPEndpoint', metadata: { name: 'h2' }, spec: { baseUrl: 'api.example.com' } } },

  // Rejected: what upstream's schema refuses, or what daprd 1.17 cannot load (e2e/admission-corpus/denied.yaml has the daprd errors).
  { name: 'a component without a version', plural: 'components', body: component({ type: 'state.redis' }), rejected: /spec.version: Required value/ },
  { name: 'a resiliency timeout that does not parse', plural: 'resiliencies', body: resiliency({ policies: { timeouts: { general: 'soon' } }, targets: {} }), rejected: /spec.policies.timeouts.general: Invalid value: "soon"/ },
  { name: 'an actor circuit breaker without a scope', plural: 'resiliencies', body: resiliency({ policies: { circuitBreakers: { cb: { trip: 'consecutiveFailures > 1' } } }, targets: { actors: { a: { circuitBreaker: 'cb' } } } }), rejected: /"spec.targets.actors.a" must validate at least one schema/ },
];

describe('CRDs against the real API server', () => {
  let kubeConfig: KubeConfig;
  let ns: TestNamespace;
  let api: CustomObjectsApi;

  before(async () => {
    requireTestCluster();
    kubeConfig = testKubeConfig();
    await installCrds(kubeConfig);
    ns = await createTestNamespace('crds');
    api = kubeConfig.makeApiClient(CustomObjectsApi);
  });
  after(async () => {
    await ns?.cleanup();
  });

  for (const c of cases) {
    test(`${c.rejected ? 'rejects' : 'accepts'} ${c.name}`, async () => {
      const body = { ...c.body, metadata: { name: `x${Math.random().toString(36).slice(2, 10)}` } };
      const create = api.createNamespacedCustomObject({ group: 'dapr.io', version: c.version ?? 'v1alpha1', namespace: ns.name, plural: c.plural, body });
      if (!c.rejected) {
        const created = (await create) as Body;
        if (c.plural === 'components') assert.deepEqual((created['spec'] as Body)['metadata'], ((c.body['spec'] as Body)['metadata']), 'metadata values kept as sent');
        return;
      }
      await assert.rejects(create, (err: unknown) => {
        const message = kubeStatusOf(err)?.message ?? String(err);
        assert.match(message, c.rejected!);
        return true;
      });
    });
  }

  test('kubectl-style table shows type, version and scopes for components', async () => {
    const body = component({ type: 'state.in-memory', version: 'v1' }, { metadata: { name: 'table' }, scopes: ['a', 'b'] });
    await api.createNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'components', body });
    const response = await fetchTable(kubeConfig, `/apis/dapr.io/v1alpha1/namespaces/${ns.name}/components/table`);
    const names = response.columnDefinitions.map((column) => column.name);
    assert.deepEqual(names.filter((name) => ['Name', 'Type', 'Version', 'Scopes', 'Age'].includes(name)), ['Name', 'Type', 'Version', 'Scopes', 'Age']);
    const cells = response.rows[0]?.cells ?? [];
    assert.equal(cells[names.indexOf('Type')], 'state.in-memory');
    assert.equal(cells[names.indexOf('Version')], 'v1');
    assert.match(String(cells[names.indexOf('Scopes')]), /a.*b/);
  });
});

interface Table {
  columnDefinitions: Array<{ name: string }>;
  rows: Array<{ cells: unknown[] }>;
}

async function fetchTable(kubeConfig: KubeConfig, path: string): Promise<Table> {
  const response = await kubeRequest(kubeConfig, 'GET', path, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  assert.equal(response.status, 200, statusMessage(response));
  return response.body as Table;
}

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const WAIT = { timeoutMs: 30_000 } as const;

interface ConversionClient {
  url?: string;
  service?: { namespace: string; name: string; path: string; port: number };
  caBundle?: string;
}

async function conversionClient(kubeConfig: KubeConfig): Promise<ConversionClient | undefined> {
  const crd = await kubeRequest(kubeConfig, 'GET', `${CRDS}/subscriptions.dapr.io`);
  return (crd.body as { spec?: { conversion?: { webhook?: { clientConfig?: ConversionClient } } } }).spec?.conversion?.webhook?.clientConfig;
}

async function configurationExists(kubeConfig: KubeConfig, name: string): Promise<boolean> {
  const response = await kubeRequest(kubeConfig, 'GET', `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${name}`);
  if (response.status !== 200 && response.status !== 404) throw new Error(`GET ValidatingWebhookConfiguration ${name}: ${statusMessage(response)}`);
  return response.status === 200;
}

/** The chart's ValidatingWebhookConfiguration as `helm template` renders it for a release in `namespace` watching only that namespace. */
async function renderChartValidatingWebhookConfiguration(namespace: string): Promise<V1ValidatingWebhookConfiguration> {
  const { stdout } = await run(binaryPath('helm'), [
    'template', 'tsdapr', join(repoRoot(), 'charts', 'tsdapr'), '--namespace', namespace,
    '--set', `dapr_operator.watchNamespace=${namespace}`, '--show-only', 'templates/operator/validating-webhook-configuration.yaml',
  ], { env: { ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'tsdapr-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'tsdapr-helm-config'), HELM_DATA_HOME: join(tmpdir(), 'tsdapr-helm-data') } });
  return load(stdout) as V1ValidatingWebhookConfiguration;
}

function daprDeployment(name: string, appId: string, replicas: number): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': appId } }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
    },
  };
}

/**
 * The operator registers its webhooks (by URL, as `pnpm start` does) and the
 * real API server calls them: Subscription conversion both ways, Component
 * denials and warnings, and the Component status the leader writes.
 */
describe('webhooks the operator registers with the API server', () => {
  let kubeConfig: KubeConfig;
  let ns: TestNamespace;
  let operator: OperatorProcess | undefined;
  let configName: string;
  const componentsPath = (): string => `/apis/dapr.io/v1alpha1/namespaces/${ns.name}/components`;

  before(async () => {
    requireTestCluster();
    kubeConfig = testKubeConfig();
    await installCrds(kubeConfig);
    ns = await createTestNamespace('webhooks');
    configName = `tsdapr-it-${ns.name}`;
    await kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: ns.name, body: daprDeployment('orders', 'orders', 1) });
    operator = await startOperatorInNamespace(ns.name, [
      '--webhook-registration', 'url', '--validating-webhook-configuration-name', configName, '--disable-service-reconciler',
      // The CRD is cluster-wide: an operator another test file starts may re-point it; put it back quickly.
      '--webhook-registration-resync-period', '2s',
    ]);
    // The API server picks a new configuration up asynchronously: a dry run shows when the webhook answers.
    await pollUntil('the API server calling the validating webhook', async () => {
      const dry = await kubeRequest(kubeConfig, 'POST', `${componentsPath()}?dryRun=All`, component({ type: 'state.in-memory', version: 'v1', metadata: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }));
      return dry.warnings.some((w) => w.includes('"a" is set 2 times')) ? true : undefined;
    }, WAIT);
  });
  after(async () => {
    await operator?.stop();
    await kubeConfig.makeApiClient(AdmissionregistrationV1Api).deleteValidatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    await ns?.cleanup();
  });

  test('the Subscription CRD and the ValidatingWebhookConfiguration point at the webhook and trust its CA', async () => {
    const client = await pollUntil('the conversion client of subscriptions.dapr.io', async () => {
      const current = await conversionClient(kubeConfig);
      return current?.url === `https://localhost:${operator!.webhookPort}/convert` ? current : undefined;
    }, WAIT);
    assert.equal(client.service, undefined, 'the URL replaces the Service');
    assert.match(Buffer.from(client.caBundle ?? '', 'base64').toString('utf8'), /BEGIN CERTIFICATE/);
    const config = await kubeConfig.makeApiClient(AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: configName });
    const webhook = config.webhooks?.[0];
    assert.equal(webhook?.clientConfig.url, `https://localhost:${operator!.webhookPort}/validate`);
    assert.equal(webhook?.clientConfig.caBundle, client.caBundle, 'one serving CA for both');
    assert.equal(webhook?.failurePolicy, 'Ignore');
    assert.deepEqual(webhook?.namespaceSelector?.matchLabels, { 'kubernetes.io/metadata.name': ns.name });

    // Level-triggered: resyncs (every 2 s here) that find nothing to change write nothing.
    const generation = async (): Promise<number | undefined> => ((await kubeRequest(kubeConfig, 'GET', `${CRDS}/subscriptions.dapr.io`)).body as { metadata?: { generation?: number } }).metadata?.generation;
    const [crdBefore, configBefore] = [await generation(), config.metadata?.resourceVersion];
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    assert.equal(await generation(), crdBefore, 'the CRD was not rewritten');
    assert.equal((await kubeConfig.makeApiClient(AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: configName })).metadata?.resourceVersion, configBefore, 'the ValidatingWebhookConfiguration was not rewritten');
  });

  test('a v1alpha1 Subscription reads back as v2alpha1, and a v2alpha1 one as v1alpha1 (conversion through our webhook)', async () => {
    const subscriptions = (version: string): string => `/apis/dapr.io/${version}/namespaces/${ns.name}/subscriptions`;
    // Retried: another test's operator may hold the cluster-wide conversion client for a moment.
    const retried = (what: string, method: string, path: string, body?: Body): Promise<Body> =>
      pollUntil(what, async () => {
        const response = await kubeRequest(kubeConfig, method, path, body);
        if (response.status === 409 && method === 'POST') return {};
        return response.status === 200 || response.status === 201 ? (response.body as Body) : undefined;
      }, WAIT);
    await retried('create a v1alpha1 Subscription', 'POST', subscriptions('v1alpha1'), { apiVersion: 'dapr.io/v1alpha1', kind: 'Subscription', metadata: { name: 'from-v1' }, spec: { pubsubname: 'pubsub', topic: 'orders', route: '/orders' }, scopes: ['orders'] });
    const asV2 = await retried('read it as v2alpha1', 'GET', `${subscriptions('v2alpha1')}/from-v1`);
    assert.equal(asV2['apiVersion'], 'dapr.io/v2alpha1');
    assert.deepEqual(asV2['spec'], { pubsubname: 'pubsub', topic: 'orders', routes: { default: '/orders' } });

    await retried('create a v2alpha1 Subscription', 'POST', subscriptions('v2alpha1'), {
      apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 'from-v2' },
      spec: { pubsubname: 'pubsub', topic: 'payments', routes: { rules: [{ match: 'event.type == "big"', path: '/big' }], default: '/payments' } },
    });
    const asV1 = await retried('read it as v1alpha1', 'GET', `${subscriptions('v1alpha1')}/from-v2`);
    assert.equal(asV1['apiVersion'], 'dapr.io/v1alpha1');
    assert.deepEqual(asV1['spec'], { pubsubname: 'pubsub', topic: 'payments', route: '/payments' });
  });

  test('a Component with the same metadata name twice is admitted with a warning naming the entry daprd uses', async () => {
    const response = await kubeRequest(kubeConfig, 'POST', componentsPath(), component({ type: 'state.redis', version: 'v1', metadata: [{ name: 'redisHost', value: 'a:6379' }, { name: 'redisHost', value: 'b:6379' }] }, { metadata: { name: 'twice' } }));
    assert.equal(response.status, 201, statusMessage(response));
    assert.ok(response.warnings.some((w) => /"redisHost" is set 2 times \(spec.metadata\[0\], spec.metadata\[1\]\); daprd uses the last, spec.metadata\[1\]/.test(w)), response.warnings.join(' | '));
  });

  test('a Component referencing a missing Secret and an unused scope: the admission answer says nothing of either, the status does', async () => {
    const response = await kubeRequest(
      kubeConfig,
      'POST',
      componentsPath(),
      component({ type: 'state.redis', version: 'v1', metadata: [{ name: 'redisPassword', secretKeyRef: { name: 'missing', key: 'pw' } }] }, { metadata: { name: 'warned' }, scopes: ['ordres'] }),
    );
    assert.equal(response.status, 201, statusMessage(response));
    // Whoever may submit a Component learns nothing about Secrets or running app ids (issue #14, ADR 0004 amendment).
    assert.ok(!response.warnings.some((w) => /secretKeyRef|Secret "missing"|app id "ordres"/.test(w)), response.warnings.join(' | '));
    type Condition = { type: string; reason: string; message: string };
    const valid = await pollUntil('the Valid condition of warned', async () => {
      const body = (await kubeRequest(kubeConfig, 'GET', `${componentsPath()}/warned`)).body as { status?: { conditions?: Condition[] } };
      return body.status?.conditions?.find((c) => c.type === 'Valid');
    }, WAIT);
    assert.equal(valid.reason, 'ValidWithWarnings');
    assert.match(valid.message, /scopes: no Dapr-enabled workload in this namespace has app id "ordres"/);
    assert.match(valid.message, /spec.metadata\[0\].secretKeyRef: Secret "missing" does not exist in this namespace/);
  });

  test('a type with no category daprd knows is admitted with a warning', async () => {
    const response = await kubeRequest(kubeConfig, 'POST', componentsPath(), component({ type: 'exporters.native', version: 'v1' }, { metadata: { name: 'old-type' } }));
    assert.equal(response.status, 201, statusMessage(response));
    assert.ok(response.warnings.some((w) => w.includes('spec.type "exporters.native" has no category daprd 1.17 knows')), response.warnings.join(' | '));
  });

  test('Component status: Valid and the running app ids in scope, written by the operator and shown by kubectl get', async () => {
    const body = component({ type: 'state.in-memory', version: 'v1' }, { metadata: { name: 'statestore' }, scopes: ['orders', 'checkout'] });
    const created = await kubeRequest(kubeConfig, 'POST', componentsPath(), body);
    assert.equal(created.status, 201, statusMessage(created));
    type Status = { conditions?: Array<{ type: string; status: string; reason: string; message: string }>; appsInScope?: string[] };
    const statusOf = async (): Promise<Status | undefined> => ((await kubeRequest(kubeConfig, 'GET', `${componentsPath()}/statestore`)).body as { status?: Status }).status;
    const first = await pollUntil('the status of statestore', async () => {
      const status = await statusOf();
      return status?.appsInScope?.includes('orders') ? status : undefined;
    }, WAIT);
    assert.deepEqual(first.appsInScope, ['orders']);
    const valid = first.conditions?.find((c) => c.type === 'Valid');
    assert.deepEqual([valid?.status, valid?.reason], ['True', 'ValidWithWarnings']);
    assert.match(valid?.message ?? '', /no Dapr-enabled workload in this namespace has app id "checkout"/);
    const running = first.conditions?.find((c) => c.type === 'AppsRunning');
    assert.deepEqual([running?.status, running?.message], ['True', 'running: orders; not running: checkout']);

    const table = await fetchTable(kubeConfig, `${componentsPath()}/statestore`);
    const names = table.columnDefinitions.map((column) => column.name);
    assert.equal(table.rows[0]?.cells[names.indexOf('Valid')], 'True');
    assert.match(String(table.rows[0]?.cells[names.indexOf('Apps')]), /orders/);

    // Scaled to zero: no app in scope runs any more.
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    // The controller manager writes the Deployment's status meanwhile: retry a conflict.
    await retryOnConflict(async () => {
      const deployment = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'orders' });
      deployment.spec!.replicas = 0;
      await apps.replaceNamespacedDeployment({ namespace: ns.name, name: 'orders', body: deployment });
    });
    const second = await pollUntil('AppsRunning=False after scaling to zero', async () => {
      const status = await statusOf();
      return status?.conditions?.find((c) => c.type === 'AppsRunning')?.status === 'False' ? status : undefined;
    }, WAIT);
    assert.deepEqual(second.appsInScope, []);
  });

  test('a conversion client reset by hand (as re-applying the CRD does) is put back', async () => {
    const reset = await kubeRequest(kubeConfig, 'PATCH', `${CRDS}/subscriptions.dapr.io`, { spec: { conversion: { strategy: 'Webhook', webhook: { clientConfig: { url: null, caBundle: null, service: { namespace: 'replaceme', name: 'dapr-webhook', path: '/convert', port: 443 } }, conversionReviewVersions: ['v1'] } } } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(reset.status, 200, statusMessage(reset));
    await pollUntil('the operator to restore its conversion client', async () => ((await conversionClient(kubeConfig))?.url === `https://localhost:${operator!.webhookPort}/convert` ? true : undefined), WAIT);
  });

  test("in Service mode the CRD points at dapr-webhook.<namespace>; the chart's ValidatingWebhookConfiguration is patched, never created; both caBundles follow the trust anchors", async () => {
    await operator?.stop();
    operator = undefined;
    // The url-mode operator's configuration outlives it (not removed on shutdown): gone, as after `helm uninstall`.
    const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    await admission.deleteValidatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    const pki = createTestPki();
    const serviceMode = await startOperatorInNamespace(
      ns.name,
      ['--validating-webhook-configuration-name', configName, '--disable-service-reconciler', '--disable-component-status', '--webhook-registration-resync-period', '2s'],
      pki,
    );
    try {
      const encoded = (pem: string): string => Buffer.from(pem).toString('base64');
      const client = await pollUntil('the conversion client in Service mode', async () => {
        const current = await conversionClient(kubeConfig);
        return current?.service && current.caBundle === encoded(pki.trustAnchorsPem) ? current : undefined;
      }, WAIT);
      assert.deepEqual(client.service, { namespace: ns.name, name: 'dapr-webhook', path: '/convert', port: 443 });
      assert.equal(client.url, undefined);

      // Without the chart's configuration: a warning and a metric, and no configuration of its own (resyncs every 2 s).
      const missing = `dapr_operator_reconcile_errors_total{controller="webhook-registration",code="validating_webhook_configuration_missing"}`;
      await pollUntil('the missing configuration reported', async () => ((await serviceMode.metrics()).includes(missing) ? true : undefined), WAIT);
      assert.match(serviceMode.logs(), new RegExp(`ValidatingWebhookConfiguration ${configName} does not exist: the chart creates it`));
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      assert.equal(await configurationExists(kubeConfig, configName), false, 'the operator in Service mode does not create the ValidatingWebhookConfiguration');

      // Created as the chart does: its own template, rendered by helm for this namespace, without a caBundle.
      const chartObject = await renderChartValidatingWebhookConfiguration(ns.name);
      assert.equal(chartObject.webhooks?.[0]?.clientConfig.caBundle, undefined);
      await admission.createValidatingWebhookConfiguration({ body: { ...chartObject, metadata: { ...chartObject.metadata, name: configName } } });
      const patched = await pollUntil("the caBundle patched into the chart's configuration", async () => {
        const config = await admission.readValidatingWebhookConfiguration({ name: configName });
        return config.webhooks?.[0]?.clientConfig.caBundle === encoded(pki.trustAnchorsPem) ? config : undefined;
      }, WAIT);
      // Only the caBundle differs from the configuration the operator builds itself: the chart's template and the code agree (defaults included).
      const expected = desiredValidatingWebhookConfiguration(configName, webhookClientConfig({ mode: 'service', serviceName: 'dapr-webhook', validatingConfigurationName: configName, resyncMs: 2000 }, ns.name, '/validate', pki.trustAnchorsPem), ns.name);
      assert.equal(ownedWebhookFields(patched.webhooks), ownedWebhookFields(expected.webhooks));
      assert.equal(patched.metadata?.labels?.['app.kubernetes.io/managed-by'], 'Helm', 'the chart\'s labels are left alone');

      // A second root added to the anchors file (the first step of a root rotation).
      const rotated = `${readFileSync(serviceMode.files.trustAnchorsFile, 'utf8')}${createTestPki().trustAnchorsPem}`;
      writeFileSync(serviceMode.files.trustAnchorsFile, rotated);
      await pollUntil('the caBundles to follow the anchors', async () => {
        const crd = await conversionClient(kubeConfig);
        const config = await admission.readValidatingWebhookConfiguration({ name: configName });
        return crd?.caBundle === encoded(rotated) && config.webhooks?.[0]?.clientConfig.caBundle === encoded(rotated) && config.webhooks[0].clientConfig.service?.name === 'dapr-webhook' ? true : undefined;
      }, WAIT);

      // Uninstalled while the operator still runs: it does not come back.
      await admission.deleteValidatingWebhookConfiguration({ name: configName });
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      assert.equal(await configurationExists(kubeConfig, configName), false, 'a running operator in Service mode does not bring a deleted configuration back');
    } finally {
      await serviceMode.stop();
    }
  });
});
