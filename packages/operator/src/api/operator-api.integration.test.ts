import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, pollUntil, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import { clientCredentials, operatorService, SPIFFE_CHANNEL_OPTIONS } from '@tsdapr/grpc';
import { retryOnConflict } from '@tsdapr/kube';
import { installCrds } from '../test-support/install-crds.js';
import { startOperatorProcess, type OperatorProcess } from '../test-support/operator-process.js';
import { createTestPki, type TestPki } from '../test-support/test-identities.js';

const TRUST_DOMAIN = 'cluster.local';
const CONTROL_PLANE_NS = 'dapr-system';
const OPERATOR_ID = `spiffe://${TRUST_DOMAIN}/ns/${CONTROL_PLANE_NS}/dapr-operator`;

type Unary = (request: unknown, callback: (err: ServiceError | null, value?: Record<string, unknown>) => void) => void;
type Streaming = (request: unknown) => ClientReadableStream<Record<string, unknown>>;

interface Sidecar {
  call(method: string, request: unknown): Promise<Record<string, unknown>>;
  stream(method: string, request: unknown): ClientReadableStream<Record<string, unknown>>;
  close(): void;
}

function sidecar(pki: TestPki, port: number, namespace: string, appId: string): Sidecar {
  const { Client } = operatorService();
  const client = new Client(
    `127.0.0.1:${port}`,
    clientCredentials({ trustAnchorsPem: pki.trustAnchorsPem, expectedServerId: OPERATOR_ID, identity: pki.svid(`spiffe://public/ns/${namespace}/${appId}`) }),
    { ...SPIFFE_CHANNEL_OPTIONS },
  ) as Client & Record<string, unknown>;
  return {
    call: (method, request) =>
      new Promise((resolve, reject) => {
        (client[method] as Unary).call(client, request, (err, value) => (err ? reject(err) : resolve(value ?? {})));
      }),
    stream: (method, request) => (client[method] as Streaming).call(client, request),
    close: () => client.close(),
  };
}

const names = (list: unknown): string[] => (list as Buffer[]).map((b) => (JSON.parse(b.toString()) as { metadata: { name: string } }).metadata.name);
const decoded = (bytes: unknown): { metadata: { name: string; resourceVersion: string }; spec: Record<string, unknown>; scopes?: string[] } => JSON.parse((bytes as Buffer).toString()) as never;

describe('operator gRPC API against the real API server', () => {
  let kubeConfig: KubeConfig;
  let ns: TestNamespace;
  let operator: OperatorProcess;
  let pki: TestPki;
  let appA: Sidecar;
  let custom: CustomObjectsApi;

  const createComponent = (name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    custom.createNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'components', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name }, spec, ...extra } });
  // The operator's leader writes Component status meanwhile: retry a conflict.
  const updateComponent = (name: string, change: (o: Record<string, unknown>) => void) =>
    retryOnConflict(async () => {
      const current = (await custom.getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'components', name })) as Record<string, unknown>;
      change(current);
      await custom.replaceNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'components', name, body: current });
    });

  before(async () => {
    requireTestCluster();
    kubeConfig = testKubeConfig();
    custom = kubeConfig.makeApiClient(CustomObjectsApi);
    await installCrds(kubeConfig);
    ns = await createTestNamespace('operator-api');
    await kubeConfig.makeApiClient(CoreV1Api).createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'redis' }, stringData: { password: 's3cret' } } });
    const memory = { type: 'state.in-memory', version: 'v1', metadata: [] };
    await createComponent('all', { type: 'state.redis', version: 'v1', metadata: [{ name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } }, { name: 'redisHost', value: 'localhost:6379' }] });
    await createComponent('only-a', memory, { scopes: ['a'] });
    await createComponent('only-b', memory, { scopes: ['b'] });
    await createComponent('broken', { type: 'state.redis', version: 'v1', metadata: [{ name: 'redisPassword', secretKeyRef: { name: 'does-not-exist', key: 'password' } }] });
    await createComponent('vault-backed', { type: 'state.redis', version: 'v1', metadata: [{ name: 'redisPassword', secretKeyRef: { name: 'not-in-kubernetes', key: 'password' } }] }, { auth: { secretStore: 'vault' } });
    await custom.createNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'configurations', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name: 'appconfig' }, spec: { tracing: { samplingRate: '1' } } } });
    await custom.createNamespacedCustomObject({ group: 'dapr.io', version: 'v2alpha1', namespace: ns.name, plural: 'subscriptions', body: { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 'orders' }, spec: { pubsubname: 'pubsub', topic: 'orders', routes: { default: '/orders' } } } });
    await custom.createNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'resiliencies', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Resiliency', metadata: { name: 'res' }, spec: { policies: { timeouts: { t: '5s' } }, targets: { apps: { x: { timeout: 't' } } } } } });

    pki = createTestPki(TRUST_DOMAIN);
    const files = pki.writeOperatorFiles(OPERATOR_ID);
    operator = await startOperatorProcess({
      args: ['--kubeconfig', requireTestCluster(), '--trust-domain', TRUST_DOMAIN, '--tls-cert-file', files.certFile, '--tls-key-file', files.keyFile, '--trust-anchors-file', files.trustAnchorsFile, '--disable-service-reconciler', '--enable-webhooks=false'],
      env: { NAMESPACE: CONTROL_PLANE_NS },
    });
    appA = sidecar(pki, operator.apiPort, ns.name, 'a');
  });

  after(async () => {
    appA?.close();
    await operator?.stop();
    await ns?.cleanup();
  });

  test('ListComponents: scoped to the caller, secrets inlined as base64, a missing Secret fails only its component', async () => {
    const response = await appA.call('ListComponents', { namespace: ns.name });
    assert.deepEqual(names(response['components']), ['all', 'only-a', 'vault-backed']);
    const all = decoded((response['components'] as Buffer[])[0]);
    assert.deepEqual((all.spec['metadata'] as unknown[])[0], { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' }, value: Buffer.from('s3cret').toString('base64') });
    const vault = decoded((response['components'] as Buffer[])[2]);
    assert.equal((vault.spec['metadata'] as Array<{ value?: unknown }>)[0]?.value, undefined, 'another secret store is left to daprd');
    // The log is written asynchronously: wait for the line rather than race it.
    await pollUntil('the missing Secret logged', async () => (/Secret [^ ]+\/does-not-exist referenced by \\"redisPassword\\" does not exist/.test(operator.logs()) ? true : undefined), { timeoutMs: 5_000 });
    assert.match(await operator.metrics(), /dapr_operator_secret_resolution_failures_total\{[^}]*name="broken",secret="does-not-exist"[^}]*\} 1/);
  });

  test('a caller asking for another namespace is denied; so is the legacy ListSubscriptions', async () => {
    const other = sidecar(pki, operator.apiPort, 'elsewhere', 'a');
    try {
      await assert.rejects(other.call('ListComponents', { namespace: ns.name }), (err: ServiceError) => {
        assert.equal(err.code, status.PERMISSION_DENIED);
        assert.match(err.details, new RegExp(`identity does not match requested namespace exp=elsewhere got=${ns.name}`));
        return true;
      });
      await assert.rejects(appA.call('ListSubscriptions', {}), (err: ServiceError) => err.code === status.PERMISSION_DENIED);
    } finally {
      other.close();
    }
  });

  test('GetConfiguration, ListSubscriptionsV2, ListResiliency, GetResiliency, ListHTTPEndpoints', async () => {
    assert.equal(decoded((await appA.call('GetConfiguration', { name: 'appconfig', namespace: ns.name }))['configuration']).metadata.name, 'appconfig');
    await assert.rejects(appA.call('GetConfiguration', { name: 'missing', namespace: ns.name }), (err: ServiceError) => err.code === status.NOT_FOUND);
    const subs = (await appA.call('ListSubscriptionsV2', { namespace: ns.name }))['subscriptions'] as Buffer[];
    assert.equal((JSON.parse(subs[0]?.toString() ?? '{}') as { apiVersion: string }).apiVersion, 'dapr.io/v2alpha1');
    assert.deepEqual(names((await appA.call('ListResiliency', { namespace: ns.name }))['resiliencies']), ['res']);
    assert.equal(decoded((await appA.call('GetResiliency', { name: 'res', namespace: ns.name }))['resiliency']).metadata.name, 'res');
    assert.deepEqual(names((await appA.call('ListHTTPEndpoints', { namespace: ns.name }))['http_endpoints']), []);
  });

  test('ComponentUpdate delivers CREATED, UPDATED, scope moves and DELETED as objects change', async () => {
    const events: Array<[string, string, string[] | undefined]> = [];
    const stream = appA.stream('ComponentUpdate', { namespace: ns.name });
    stream.on('data', (event: Record<string, unknown>) => {
      const component = decoded(event['component']);
      events.push([String(event['type']), component.metadata.name, component.scopes]);
    });
    stream.on('error', () => undefined);
    await pollUntil('stream registered', async () => (/dapr_operator_api_open_streams\{kind="Component"\} [1-9]/.test(await operator.metrics()) ? true : undefined), { timeoutMs: 10_000 });

    await createComponent('live', { type: 'state.in-memory', version: 'v1', metadata: [] });
    await pollUntil('CREATED', async () => (events.length >= 1 ? true : undefined), { timeoutMs: 10_000 });
    await updateComponent('live', (o) => {
      (o['spec'] as { metadata: unknown[] }).metadata = [{ name: 'x', value: '1' }];
    });
    await pollUntil('UPDATED', async () => (events.length >= 2 ? true : undefined), { timeoutMs: 10_000 });
    await updateComponent('live', (o) => {
      o['scopes'] = ['b'];
    });
    await pollUntil('DELETED on leaving scope', async () => (events.length >= 3 ? true : undefined), { timeoutMs: 10_000 });
    await updateComponent('live', (o) => {
      (o['spec'] as { metadata: unknown[] }).metadata = [{ name: 'x', value: '2' }];
    });
    await updateComponent('live', (o) => {
      o['scopes'] = ['a'];
    });
    await pollUntil('CREATED on entering scope', async () => (events.length >= 4 ? true : undefined), { timeoutMs: 10_000 });
    await custom.deleteNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'components', name: 'live' });
    await pollUntil('DELETED', async () => (events.length >= 5 ? true : undefined), { timeoutMs: 10_000 });
    stream.cancel();
    assert.deepEqual(events, [
      ['CREATED', 'live', undefined],
      ['UPDATED', 'live', undefined],
      ['DELETED', 'live', undefined],
      ['CREATED', 'live', ['a']],
      ['DELETED', 'live', ['a']],
    ]);
  });

  test('SubscriptionUpdate sends a created Subscription as v2alpha1', async () => {
    const received: string[] = [];
    const stream = appA.stream('SubscriptionUpdate', { namespace: ns.name });
    stream.on('data', (event: Record<string, unknown>) => received.push(`${String(event['type'])} ${decoded(event['subscription']).metadata.name}`));
    stream.on('error', () => undefined);
    await pollUntil('stream registered', async () => (/dapr_operator_api_open_streams\{kind="Subscription"\} [1-9]/.test(await operator.metrics()) ? true : undefined), { timeoutMs: 10_000 });
    await custom.createNamespacedCustomObject({ group: 'dapr.io', version: 'v2alpha1', namespace: ns.name, plural: 'subscriptions', body: { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 'payments' }, spec: { pubsubname: 'pubsub', topic: 'payments', routes: { default: '/p' } } } });
    await pollUntil('subscription event', async () => (received.length > 0 ? true : undefined), { timeoutMs: 10_000 });
    stream.cancel();
    assert.deepEqual(received, ['CREATED payments']);
  });
});
