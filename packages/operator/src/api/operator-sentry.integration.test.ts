import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, freePorts, pollUntil, requireTestCluster, startServiceProcess, testKubeConfig, type ServiceProcess, type TestNamespace } from '@tsdapr/e2e-harness';
import { clientCredentials, operatorService, SPIFFE_CHANNEL_OPTIONS } from '@tsdapr/grpc';
import { createSvidSource } from '@tsdapr/identity';
import { silentLogger } from '@tsdapr/runtime';
import { installCrds } from '../test-support/install-crds.js';
import { startOperatorProcess, type OperatorProcess } from '../test-support/operator-process.js';

const TRUST_DOMAIN = 'cluster.local';

type Unary = (request: unknown, callback: (err: ServiceError | null, value?: Record<string, unknown>) => void) => void;
type Streaming = (request: unknown) => ClientReadableStream<Record<string, unknown>>;

interface Sidecar {
  readonly spiffeId: string;
  readonly certificatePem: string;
  call(method: string, request: unknown): Promise<Record<string, unknown>>;
  stream(method: string, request: unknown): ClientReadableStream<Record<string, unknown>>;
  close(): void;
}

const names = (list: unknown): string[] => (list as Buffer[]).map((b) => (JSON.parse(b.toString()) as { metadata: { name: string } }).metadata.name).sort();

/**
 * The operator and its callers with SVIDs issued by OUR Sentry (a real
 * process, standalone, so sidecars need no pod-bound token): the operator
 * gets `dapr-operator` from it, sidecars get `spiffe://public/ns/<ns>/<app>`
 * through @tsdapr/identity, exactly as the control plane does.
 */
describe('operator API with certificates from our Sentry', () => {
  let kubeConfig: KubeConfig;
  let controlPlane: TestNamespace;
  let apps: TestNamespace;
  let credentialsDir: string;
  let sentry: ServiceProcess | undefined;
  let sentryAddress: string;
  let anchorsFile: string;
  let operator: OperatorProcess | undefined;
  const sidecars: Sidecar[] = [];
  const stopSvids = new AbortController();

  async function sidecar(namespace: string, appId: string): Promise<Sidecar> {
    const svid = createSvidSource({ sentryAddress, trustAnchors: { file: anchorsFile }, controlPlaneTrustDomain: TRUST_DOMAIN, controlPlaneNamespace: controlPlane.name, appId, namespace, logger: silentLogger() });
    void svid.runner(stopSvids.signal);
    const identity = await pollUntil(`an SVID for ${appId} from sentry`, async () => svid.material.currentIdentity, { timeoutMs: 20_000 });
    const { Client } = operatorService();
    const anchors = await readFile(anchorsFile, 'utf8');
    const client = new Client(
      `127.0.0.1:${operator!.apiPort}`,
      clientCredentials({ trustAnchorsPem: anchors, expectedServerId: `spiffe://${TRUST_DOMAIN}/ns/${controlPlane.name}/dapr-operator`, identity }),
      { ...SPIFFE_CHANNEL_OPTIONS },
    ) as Client & Record<string, unknown>;
    const created: Sidecar = {
      spiffeId: svid.spiffeId,
      certificatePem: identity.certificateChainPem,
      call: (method, request) =>
        new Promise((resolve, reject) => {
          (client[method] as Unary).call(client, request, (err, value) => (err ? reject(err) : resolve(value ?? {})));
        }),
      stream: (method, request) => (client[method] as Streaming).call(client, request),
      close: () => client.close(),
    };
    sidecars.push(created);
    return created;
  }

  before(async () => {
    const kubeconfigPath = requireTestCluster();
    kubeConfig = testKubeConfig();
    await installCrds(kubeConfig);
    controlPlane = await createTestNamespace('operator-sentry-cp');
    apps = await createTestNamespace('operator-sentry');
    credentialsDir = await mkdtemp(join(tmpdir(), 'tsdapr-operator-sentry-'));
    anchorsFile = join(credentialsDir, 'ca.crt');
    const [grpcPort, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
    sentryAddress = `127.0.0.1:${grpcPort}`;
    sentry = await startServiceProcess(
      'sentry',
      healthzPort,
      ['--mode', 'standalone', '--issuer-credentials', credentialsDir, '--trust-domain', TRUST_DOMAIN, '--listen-address', '127.0.0.1', '--port', String(grpcPort), '--metrics-port', String(metricsPort)],
      { NAMESPACE: controlPlane.name },
    );
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const memory = { type: 'state.in-memory', version: 'v1', metadata: [] };
    for (const [name, scopes] of [['shared', undefined], ['only-a', ['a']], ['only-b', ['b']]] as const) {
      await custom.createNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: apps.name, plural: 'components', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name }, spec: memory, ...(scopes ? { scopes } : {}) } });
    }
    operator = await startOperatorProcess({
      args: [
        '--kubeconfig', kubeconfigPath, '--trust-domain', TRUST_DOMAIN, '--sentry-address', sentryAddress, '--sentry-token-file', '', '--trust-anchors-file', anchorsFile,
        '--watch-namespace', apps.name, '--disable-service-reconciler', '--enable-webhooks=false',
      ],
      env: { NAMESPACE: controlPlane.name },
    });
  });

  after(async () => {
    for (const s of sidecars) s.close();
    stopSvids.abort();
    await operator?.stop();
    await sentry?.stop();
    await apps?.cleanup();
    await controlPlane?.cleanup();
    if (credentialsDir) await rm(credentialsDir, { recursive: true, force: true });
  });

  test('ListComponents: a sidecar with a Sentry-issued SVID sees the components in its scope', async () => {
    const a = await sidecar(apps.name, 'a');
    assert.equal(a.spiffeId, `spiffe://public/ns/${apps.name}/a`);
    const leaf = new X509Certificate(a.certificatePem);
    assert.equal(leaf.subjectAltName, `URI:spiffe://public/ns/${apps.name}/a`);
    assert.ok(leaf.checkIssued(new X509Certificate(a.certificatePem.slice(a.certificatePem.indexOf('-----END CERTIFICATE-----') + 26))), 'the leaf is signed by Sentry\'s issuer');
    assert.deepEqual(names((await a.call('ListComponents', { namespace: apps.name }))['components']), ['only-a', 'shared']);
    const b = await sidecar(apps.name, 'b');
    assert.deepEqual(names((await b.call('ListComponents', { namespace: apps.name }))['components']), ['only-b', 'shared']);
  });

  test("a sidecar whose SVID names another namespace gets PermissionDenied for this one's components", async () => {
    const intruder = await sidecar('elsewhere', 'a');
    await assert.rejects(intruder.call('ListComponents', { namespace: apps.name }), (err: ServiceError) => {
      assert.equal(err.code, status.PERMISSION_DENIED);
      assert.match(err.details, new RegExp(`identity does not match requested namespace exp=elsewhere got=${apps.name}`));
      return true;
    });
    // A stream is checked the same way when it starts.
    const stream = intruder.stream('ComponentUpdate', { namespace: apps.name });
    const code = await new Promise<number>((resolve) => {
      stream.on('error', (err: ServiceError) => resolve(err.code));
      stream.on('data', () => resolve(-1));
    });
    assert.equal(code, status.PERMISSION_DENIED);
  });

  test('ComponentUpdate: a new component scoped to b reaches b and not a', async () => {
    const [a, b] = [await sidecar(apps.name, 'a'), await sidecar(apps.name, 'b')];
    const seen: Record<string, string[]> = { a: [], b: [] };
    for (const [id, s] of [['a', a], ['b', b]] as const) {
      const stream = s.stream('ComponentUpdate', { namespace: apps.name });
      stream.on('data', (event: Record<string, unknown>) => seen[id]!.push(`${String(event['type'])} ${(JSON.parse((event['component'] as Buffer).toString()) as { metadata: { name: string } }).metadata.name}`));
      stream.on('error', () => undefined);
    }
    await pollUntil('both streams open', async () => (/dapr_operator_api_open_streams\{kind="Component"\} ([2-9]|\d\d)/.test(await operator!.metrics()) ? true : undefined), { timeoutMs: 10_000 });
    await kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'dapr.io', version: 'v1alpha1', namespace: apps.name, plural: 'components',
      body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'late' }, spec: { type: 'pubsub.in-memory', version: 'v1' }, scopes: ['b'] },
    });
    await pollUntil('the CREATED event on b', async () => (seen['b']!.length > 0 ? true : undefined), { timeoutMs: 10_000 });
    assert.deepEqual(seen['b'], ['CREATED late']);
    assert.deepEqual(seen['a'], [], 'out of scope: nothing');
  });
});
