import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import { kubeStatusOf } from '@tsdapr/kube';
import { installCrds } from '../test-support/install-crds.js';
import { kubeRequest, statusMessage } from '../test-support/kube-http.js';

type Body = Record<string, unknown>;

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

  // Rejected by a CEL rule, with its message.
  { name: 'a component type without a category', plural: 'components', body: component({ type: 'redis', version: 'v1' }), rejected: /spec.type "redis" must start with a component category/ },
  { name: 'a middleware type that is not middleware.http', plural: 'components', body: component({ type: 'middleware.oauth2', version: 'v1' }), rejected: /must start with a component category/ },
  { name: 'a metadata entry with both secretKeyRef and envRef', plural: 'components', body: component({ type: 'state.redis', version: 'v1', metadata: [{ name: 'pw', secretKeyRef: { name: 's' }, envRef: 'PW' }] }), rejected: /metadata entry "pw" sets both secretKeyRef and envRef/ },
  { name: 'an initTimeout that is not a duration', plural: 'components', body: component({ type: 'state.redis', version: 'v1', initTimeout: '30 seconds' }), rejected: /must be a Go duration/ },
  { name: 'a component without a version', plural: 'components', body: component({ type: 'state.redis' }), rejected: /spec.version: Required value/ },
  { name: 'a resiliency retry target naming an undefined policy', plural: 'resiliencies', body: resiliency({ policies: { retries: {} }, targets: { apps: { appB: { retry: 'nope' } } } }), rejected: /targets.apps.<name>.retry must name a policy defined in spec.policies.retries/ },
  { name: 'a resiliency component target naming an undefined circuit breaker', plural: 'resiliencies', body: resiliency({ policies: {}, targets: { components: { statestore: { outbound: { circuitBreaker: 'cb' } } } } }), rejected: /targets.components.<name>.outbound.circuitBreaker must name a policy defined in spec.policies.circuitBreakers/ },
  { name: 'a resiliency timeout that does not parse', plural: 'resiliencies', body: resiliency({ policies: { timeouts: { general: 'soon' } }, targets: {} }), rejected: /must be a Go duration/ },
  { name: 'a retry duration that does not parse', plural: 'resiliencies', body: resiliency({ policies: { retries: { r: { policy: 'constant', duration: '5' } } }, targets: {} }), rejected: /must be a Go duration/ },
  { name: 'a subscription with neither rules nor a default route', plural: 'subscriptions', version: 'v2alpha1', body: { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 's2' }, spec: { pubsubname: 'p', topic: 't', routes: {} } }, rejected: /needs a default path or at least one rule/ },
  { name: 'an HTTP endpoint whose baseUrl is not a URL', plural: 'httpendpoints', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'HTTPEndpoint', metadata: { name: 'h2' }, spec: { baseUrl: 'api.example.com' } }, rejected: /must be an absolute http:\/\/ or https:\/\/ URL/ },
  { name: 'a configuration with an unparsable workloadCertTTL', plural: 'configurations', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name: 'bad' }, spec: { mtls: { workloadCertTTL: 'one day' } } }, rejected: /must be a Go duration/ },
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
