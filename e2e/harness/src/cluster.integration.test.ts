import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { repoRoot } from './binaries.js';
import { pollUntil } from './http-probe.js';
import { createTestNamespace, testKubeConfig, type TestNamespace } from './test-env.js';

const WAIT = { timeoutMs: 60_000, intervalMs: 300 };
const MUTATED_LABEL = 'tsdapr.io/mutated';

void describe('local cluster (etcd + kube-apiserver + kube-controller-manager)', { timeout: 300_000 }, () => {
  let kc: KubeConfig;
  let ns: TestNamespace;

  before(async () => {
    kc = testKubeConfig();
    ns = await createTestNamespace('harness', { kubeConfig: kc });
  });
  after(async () => {
    await ns?.cleanup();
  });

  void test('a Deployment becomes a ReplicaSet and Pending Pods', { timeout: 90_000 }, async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const labels = { app: 'harness-deploy' };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'harness-deploy' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
        },
      },
    });

    const replicaSet = await pollUntil(
      'a ReplicaSet owned by the Deployment',
      async () => {
        const list = await apps.listNamespacedReplicaSet({ namespace: ns.name, labelSelector: 'app=harness-deploy' });
        return list.items.find((rs) => rs.metadata?.ownerReferences?.some((ref) => ref.kind === 'Deployment' && ref.name === 'harness-deploy'));
      },
      WAIT,
    );
    const pods = await pollUntil(
      'two Pods owned by the ReplicaSet',
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=harness-deploy' });
        return list.items.length === 2 ? list.items : undefined;
      },
      WAIT,
    );
    for (const pod of pods) {
      assert.equal(pod.metadata?.ownerReferences?.[0]?.name, replicaSet.metadata?.name);
      // No scheduler or kubelet: a pod never leaves Pending.
      assert.equal(pod.status?.phase, 'Pending');
    }
  });

  void test('a TokenRequest token for audience dapr.io/sentry passes TokenReview only for that audience', { timeout: 60_000 }, async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const authn = kc.makeApiClient(AuthenticationV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'sentry-client' } } });
    const request = await core.createNamespacedServiceAccountToken({
      name: 'sentry-client',
      namespace: ns.name,
      body: { spec: { audiences: ['dapr.io/sentry'], expirationSeconds: 600 } },
    });
    const token = request.status?.token;
    assert.ok(token, 'TokenRequest returned no token');

    const accepted = await authn.createTokenReview({ body: { spec: { token, audiences: ['dapr.io/sentry'] } } });
    assert.equal(accepted.status?.authenticated, true, `TokenReview error: ${accepted.status?.error}`);
    assert.equal(accepted.status?.user?.username, `system:serviceaccount:${ns.name}:sentry-client`);
    assert.deepEqual(accepted.status?.audiences, ['dapr.io/sentry']);

    const rejected = await authn.createTokenReview({ body: { spec: { token, audiences: ['some-other-audience'] } } });
    assert.notEqual(rejected.status?.authenticated, true);
    assert.match(rejected.status?.error ?? '', /audience/i);
  });

  void test('a CRD applied from YAML becomes Established and serves custom objects', { timeout: 90_000 }, async () => {
    const crd = yaml.load(readFileSync(join(repoRoot(), 'e2e', 'harness', 'fixtures', 'widget-crd.yaml'), 'utf8')) as KubernetesObject;
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const crdName = crd.metadata?.name ?? '';
    await createCrd(objects, extensions, crd);
    try {
      await pollUntil(
        `CRD ${crdName} Established`,
        async () => {
          const current = await extensions.readCustomResourceDefinition({ name: crdName });
          return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
        },
        WAIT,
      );
      const target = { group: 'harness.tsdapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'widgets' };
      await custom.createNamespacedCustomObject({
        ...target,
        body: { apiVersion: 'harness.tsdapr.io/v1alpha1', kind: 'Widget', metadata: { name: 'small' }, spec: { size: 1 } },
      });
      const read = (await custom.getNamespacedCustomObject({ ...target, name: 'small' })) as { spec?: { size?: number } };
      assert.equal(read.spec?.size, 1);
      // The schema is enforced, so the CRD really is what the YAML says.
      await assert.rejects(
        custom.createNamespacedCustomObject({
          ...target,
          body: { apiVersion: 'harness.tsdapr.io/v1alpha1', kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } },
        }),
        (err: unknown) => (err as { code?: number }).code === 422,
      );
    } finally {
      await extensions.deleteCustomResourceDefinition({ name: crdName });
    }
  });

  void test('a MutatingWebhookConfiguration calls a local https webhook and its patch shows on the pod', { timeout: 90_000 }, async () => {
    const webhook = await startLabelWebhook();
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const configName = `harness-mutate-${ns.name}`;
    try {
      await admission.createMutatingWebhookConfiguration({
        body: {
          metadata: { name: configName },
          webhooks: [
            {
              name: 'mutate.harness.tsdapr.io',
              clientConfig: { url: `https://127.0.0.1:${webhook.port}/mutate`, caBundle: webhook.caBundle },
              rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
              // Only this test's namespace (the apiserver labels every namespace with its name),
              // so tests running in parallel never meet this webhook.
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
              sideEffects: 'None',
              admissionReviewVersions: ['v1'],
              failurePolicy: 'Fail',
              timeoutSeconds: 5,
            },
          ],
        },
      });
      const pod = (name: string): V1Pod => ({
        metadata: { name, labels: { app: 'webhook-probe' } },
        spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
      });
      // The apiserver picks new webhook configurations up asynchronously; dry runs cost nothing until it has.
      await pollUntil(
        'the webhook to be active',
        async () => {
          const dry = await core.createNamespacedPod({ namespace: ns.name, body: pod('dry-run'), dryRun: 'All' });
          return dry.metadata?.labels?.[MUTATED_LABEL] === 'true' ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 300 },
      );

      const created = await core.createNamespacedPod({ namespace: ns.name, body: pod('mutated') });
      assert.equal(created.metadata?.labels?.[MUTATED_LABEL], 'true');
      const stored = await core.readNamespacedPod({ namespace: ns.name, name: 'mutated' });
      assert.equal(stored.metadata?.labels?.[MUTATED_LABEL], 'true');
      assert.ok(
        webhook.calls.some((call) => call.name === 'mutated' && call.namespace === ns.name && !call.dryRun),
        'the webhook saw no admission request for the real pod',
      );
    } finally {
      await admission.deleteMutatingWebhookConfiguration({ name: configName }).catch(ignoreNotFound);
      await webhook.close();
    }
  });
});

/**
 * Creates the CRD; one left by an earlier run against a long-lived
 * `pnpm cluster up` cluster is kept, or waited out while it is being deleted.
 */
async function createCrd(objects: KubernetesObjectApi, extensions: ApiextensionsV1Api, crd: KubernetesObject): Promise<void> {
  const name = crd.metadata?.name ?? '';
  await pollUntil(
    `CRD ${name} created`,
    async () => {
      try {
        await objects.create(crd);
        return true;
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
      const existing = await extensions.readCustomResourceDefinition({ name });
      if (existing.metadata?.deletionTimestamp) throw new Error('an earlier copy is still being deleted');
      return true;
    },
    WAIT,
  );
}

function ignoreNotFound(err: unknown): void {
  if ((err as { code?: number }).code !== 404) throw err;
}

interface AdmissionCall {
  readonly name: string;
  readonly namespace: string;
  readonly dryRun: boolean;
}

interface LabelWebhook {
  readonly port: number;
  /** Base64 PEM of the self-signed serving certificate, for clientConfig.caBundle. */
  readonly caBundle: string;
  readonly calls: AdmissionCall[];
  close(): Promise<void>;
}

/** An https admission webhook on 127.0.0.1 that adds `tsdapr.io/mutated: "true"` to every pod. */
async function startLabelWebhook(): Promise<LabelWebhook> {
  const { cert, key } = selfSignedCertificate();
  const calls: AdmissionCall[] = [];
  const server = createServer({ cert, key }, (req, res) => {
    handleAdmission(req, res, calls).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    caBundle: Buffer.from(cert).toString('base64'),
    calls,
    close: () => closeServer(server),
  };
}

async function handleAdmission(req: IncomingMessage, res: ServerResponse, calls: AdmissionCall[]): Promise<void> {
  if (req.method !== 'POST' || !req.url?.startsWith('/mutate')) {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    request: { uid: string; name?: string; namespace?: string; dryRun?: boolean; object: V1Pod };
  };
  const { request } = review;
  calls.push({ name: request.object.metadata?.name ?? request.name ?? '', namespace: request.namespace ?? '', dryRun: request.dryRun === true });
  const patch = request.object.metadata?.labels
    ? [{ op: 'add', path: `/metadata/labels/${MUTATED_LABEL.replace('/', '~1')}`, value: 'true' }]
    : [{ op: 'add', path: '/metadata/labels', value: { [MUTATED_LABEL]: 'true' } }];
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') },
    }),
  );
}

/** Go's TLS wants the IP in subjectAltName; the certificate is its own CA. */
function selfSignedCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-webhook-cert-'));
  try {
    const keyPath = join(dir, 'tls.key');
    const certPath = join(dir, 'tls.crt');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath],
      { stdio: 'pipe' },
    );
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
