import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  Observable,
  RbacAuthorizationV1Api,
  type ConfigurationOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { createTestNamespace, freePort, pollUntil, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import { silentLogger } from '@tsdapr/runtime';
import { createInjector } from '../injector.js';
import { parseInjectorOptions } from '../options.js';
import type { Container } from '../patch/pod-types.js';
import { selfSignedServingCertificate } from './serving-certificate.js';

/**
 * The injector in this process, registered with the real kube-apiserver of
 * the test cluster through a MutatingWebhookConfiguration that only matches
 * this test's namespace. The cluster has no kubelet: pods stay Pending, but
 * what the API server stored after admission is what a node would run.
 */
const WAIT = { timeoutMs: 60_000, intervalMs: 250 };
const SIDECAR_IMAGE = 'ghcr.io/dapr/daprd:1.17.5';
const CONTROL_PLANE_NAMESPACE = 'dapr-system';

void describe('injector against a real kube-apiserver', { timeout: 300_000 }, () => {
  let kc: KubeConfig;
  let ns: TestNamespace;
  let dir: string;
  let anchorsPem: string;
  let webhookName: string;
  let port: number;
  let stopInjector: (() => Promise<void>) | undefined;
  const admission = (): AdmissionregistrationV1Api => kc.makeApiClient(AdmissionregistrationV1Api);
  const core = (): CoreV1Api => kc.makeApiClient(CoreV1Api);

  before(async () => {
    const kubeconfigPath = requireTestCluster();
    kc = testKubeConfig();
    ns = await createTestNamespace('injector', { kubeConfig: kc });
    dir = mkdtempSync(join(tmpdir(), 'tsdapr-injector-it-'));
    // Any certificate will do as the sidecars' trust anchors here.
    anchorsPem = (await selfSignedServingCertificate({ dnsNames: ['anchors.example'] })).caBundlePem;
    writeFileSync(join(dir, 'ca.crt'), anchorsPem);

    port = await freePort();
    webhookName = `tsdapr-injector-${ns.name}`;
    // Registered without a caBundle: keeping it current is the injector's job.
    await admission().createMutatingWebhookConfiguration({
      body: {
        metadata: { name: webhookName },
        webhooks: [
          {
            name: 'sidecar-injector.dapr.io',
            clientConfig: { url: `https://127.0.0.1:${port}/mutate` },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
            failurePolicy: 'Ignore',
            sideEffects: 'None',
            admissionReviewVersions: ['v1', 'v1beta1'],
            reinvocationPolicy: 'IfNeeded',
            timeoutSeconds: 5,
          },
        ],
      },
    });

    stopInjector = await startInjector(kubeconfigPath);
    // The API server picks the configuration (and its patched caBundle) up
    // asynchronously; a dry run shows when the webhook is really called.
    await pollUntil(
      'the injector webhook to be called by the API server',
      async () => {
        const dry = await core().createNamespacedPod({ namespace: ns.name, body: annotatedPod('dry-run', { 'dapr.io/app-id': 'dry' }), dryRun: 'All' });
        return dry.spec?.containers?.some((c) => c.name === 'daprd') ? true : undefined;
      },
      WAIT,
    );
  });

  after(async () => {
    await stopInjector?.();
    await admission().deleteMutatingWebhookConfiguration({ name: webhookName }).catch(() => undefined);
    await ns?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startInjector(kubeconfigPath: string): Promise<() => Promise<void>> {
    const options = parseInjectorOptions(
      [
        '--listen-address', '127.0.0.1',
        '--port', String(port),
        '--healthz-port', '0',
        '--metrics-port', '0',
        '--kubeconfig', kubeconfigPath,
        '--webhook-configuration-name', webhookName,
        '--trust-anchors-file', join(dir, 'ca.crt'),
        '--sidecar-token-volume', 'true',
      ],
      { SIDECAR_IMAGE, NAMESPACE: CONTROL_PLANE_NAMESPACE, KUBE_CLUSTER_DOMAIN: 'cluster.local' },
    );
    const abort = new AbortController();
    let listening: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (listening = resolve));
    const running = createInjector(options, { logger: silentLogger(), onWebhookListening: () => listening() }).run(abort.signal);
    await Promise.race([ready, running.then(() => Promise.reject(new Error('the injector stopped before listening')))]);
    return async () => {
      abort.abort();
      await running;
    };
  }

  void test('keeps the caBundle of its MutatingWebhookConfiguration current', async () => {
    const config = await admission().readMutatingWebhookConfiguration({ name: webhookName });
    const pem = Buffer.from(config.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8');
    assert.match(pem, /-----BEGIN CERTIFICATE-----/);
  });

  void test('a Deployment with Dapr annotations becomes Pods carrying daprd as upstream builds it', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const labels = { app: 'orders' };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'orders' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: {
              labels,
              annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders', 'dapr.io/app-port': '8080', 'dapr.io/config': 'appconfig', 'dapr.io/log-level': 'debug' },
            },
            spec: { containers: [{ name: 'orders', image: 'example.invalid/orders:1' }] },
          },
        },
      },
    });
    const pods = await pollUntil(
      'two Pods of the Deployment',
      async () => {
        const list = await core().listNamespacedPod({ namespace: ns.name, labelSelector: 'app=orders' });
        return list.items.length === 2 ? list.items : undefined;
      },
      WAIT,
    );
    for (const stored of pods) {
      const daprd = container(stored, 'daprd');
      assert.equal(daprd.image, SIDECAR_IMAGE);
      const args = daprd.args ?? [];
      assert.equal(args[0], '/daprd');
      assert.equal(flag(args, '--app-id'), 'orders');
      assert.equal(flag(args, '--app-port'), '8080');
      assert.equal(flag(args, '--config'), 'appconfig');
      assert.equal(flag(args, '--log-level'), 'debug');
      assert.equal(flag(args, '--mode'), 'kubernetes');
      assert.equal(flag(args, '--control-plane-address'), 'dapr-api.dapr-system.svc.cluster.local:443');
      assert.equal(flag(args, '--sentry-address'), 'dapr-sentry.dapr-system.svc.cluster.local:443');
      assert.equal(flag(args, '--placement-host-address'), 'dapr-placement-server.dapr-system.svc.cluster.local:50005');
      assert.equal(flag(args, '--scheduler-host-address'), 'dapr-scheduler-server-a.dapr-system.svc.cluster.local:443');
      // No daprsystem Configuration (no CRD even): mTLS defaults to on.
      assert.ok(args.includes('--enable-mtls'));
      const env = Object.fromEntries((daprd.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
      assert.deepEqual(env, {
        NAMESPACE: ns.name,
        DAPR_TRUST_ANCHORS: anchorsPem,
        POD_NAME: 'metadata.name',
        DAPR_CONTROLPLANE_NAMESPACE: CONTROL_PLANE_NAMESPACE,
        DAPR_CONTROLPLANE_TRUST_DOMAIN: 'cluster.local',
      });
      assert.deepEqual(
        daprd.ports?.map((p) => [p.name, p.containerPort]),
        [['dapr-http', 3500], ['dapr-grpc', 50001], ['dapr-internal', 50002], ['dapr-metrics', 9090]],
      );
      assert.deepEqual(plain(daprd.volumeMounts?.find((m) => m.name === 'dapr-identity-token')), { name: 'dapr-identity-token', mountPath: '/var/run/secrets/dapr.io/sentrytoken', readOnly: true });
      const token = stored.spec?.volumes?.find((v) => v.name === 'dapr-identity-token');
      assert.deepEqual(plain(token?.projected?.sources?.[0]?.serviceAccountToken), { audience: 'spiffe://cluster.local/ns/dapr-system/dapr-sentry', expirationSeconds: 7200, path: 'token' });
      assert.equal(daprd.readinessProbe?.httpGet?.path, '/v1.0/healthz');
      assert.equal(daprd.securityContext?.runAsNonRoot, true);
      // The ServiceAccount admission plugin's volume was there first; ours was appended.
      assert.ok((stored.spec?.volumes?.length ?? 0) >= 2);
      assert.equal(stored.metadata?.labels?.['dapr.io/sidecar-injected'], 'true');
      assert.equal(stored.metadata?.labels?.['dapr.io/app-id'], 'orders');
      const app = container(stored, 'orders');
      assert.deepEqual(app.env?.map((e) => [e.name, e.value]), [['DAPR_HTTP_PORT', '3500'], ['DAPR_GRPC_PORT', '50001'], ['APP_PROTOCOL', 'http']]);
    }
  });

  void test('a native sidecar (daprd 1.18) is stored as an init container with restartPolicy Always', async () => {
    const created = await core().createNamespacedPod({
      namespace: ns.name,
      body: annotatedPod('native', { 'dapr.io/app-id': 'native', 'dapr.io/enable-native-sidecar': 'true', 'dapr.io/sidecar-image': 'ghcr.io/dapr/daprd:1.18.1' }),
    });
    const daprd = created.spec?.initContainers?.find((c) => c.name === 'daprd');
    assert.equal(daprd?.restartPolicy, 'Always');
    assert.ok(!created.spec?.containers?.some((c) => c.name === 'daprd'));
  });

  void test('a pod without dapr.io/enabled is untouched', async () => {
    const created = await core().createNamespacedPod({ namespace: ns.name, body: { metadata: { name: 'plain' }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } } });
    assert.deepEqual(created.spec?.containers?.map((c) => c.name), ['app']);
    assert.equal(created.metadata?.labels?.['dapr.io/sidecar-injected'], undefined);
  });

  void test('a pod with an unusable annotation is denied with a message naming it', async () => {
    await assert.rejects(
      core().createNamespacedPod({ namespace: ns.name, body: annotatedPod('broken', { 'dapr.io/app-id': 'broken', 'dapr.io/app-protocol': 'tcp' }) }),
      (err: unknown) => {
        const body = JSON.parse(String((err as { body?: unknown }).body)) as { message: string; code: number };
        assert.equal(body.code, 400);
        assert.match(body.message, /admission webhook "sidecar-injector\.dapr\.io" denied the request: dapr sidecar injector: dapr\.io\/app-protocol: "tcp" is not an app protocol daprd accepts/);
        return true;
      },
    );
  });

  void test('a pod created from generateName without dapr.io/app-id is denied: it has no name yet at admission', async () => {
    const body: V1Pod = { metadata: { generateName: 'nameless-', annotations: { 'dapr.io/enabled': 'true' } }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } };
    await assert.rejects(core().createNamespacedPod({ namespace: ns.name, body, dryRun: 'All' }), (err: unknown) => {
      const status = JSON.parse(String((err as { body?: unknown }).body)) as { message: string };
      assert.match(status.message, /dapr\.io\/app-id is not set and the pod has no name yet \(it is created from generateName "nameless-"\)/);
      return true;
    });
  });

  void test('a misspelled annotation: the pod is created and the client sees the warning', async () => {
    const warnings: string[] = [];
    const created = await core().createNamespacedPod(
      { namespace: ns.name, body: annotatedPod('typo', { 'dapr.io/app-id': 'typo', 'dapr.io/app_port': '8080' }) },
      captureWarnings(warnings),
    );
    assert.ok(created.spec?.containers?.some((c) => c.name === 'daprd'));
    assert.ok(
      warnings.some((w) => w.includes('dapr.io/app_port is not a Dapr annotation and is ignored: did you mean dapr.io/app-port?')),
      `warnings: ${JSON.stringify(warnings)}`,
    );
  });

  void test('a pod created by a service account that is not allow-listed is untouched', async () => {
    const sa = 'deployer';
    await core().createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: sa } } });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: ns.name, body: { metadata: { name: 'pods' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['create', 'get'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns.name,
      body: { metadata: { name: 'pods' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pods' }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns.name }] },
    });
    const token = await core().createNamespacedServiceAccountToken({ namespace: ns.name, name: sa, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    const asSa = new KubeConfig();
    const cluster = kc.getCurrentCluster();
    assert.ok(cluster);
    asSa.loadFromOptions({
      clusters: [cluster],
      users: [{ name: sa, token: token.status?.token ?? '' }],
      contexts: [{ name: sa, cluster: cluster.name, user: sa }],
      currentContext: sa,
    });
    const warnings: string[] = [];
    const created = await pollUntil(
      'a pod created with the service account token (RBAC may take a moment)',
      () => asSa.makeApiClient(CoreV1Api).createNamespacedPod({ namespace: ns.name, body: annotatedPod('by-sa', { 'dapr.io/app-id': 'by-sa' }) }, captureWarnings(warnings)),
      WAIT,
    );
    assert.deepEqual(created.spec?.containers?.map((c) => c.name), ['app']);
    assert.ok(warnings.some((w) => w.includes(`system:serviceaccount:${ns.name}:${sa} may not create pods with a daprd sidecar`)), `warnings: ${JSON.stringify(warnings)}`);
  });

  void test('with the injector stopped, pods are still created without a sidecar, and reported once it is back', async () => {
    await stopInjector?.();
    stopInjector = undefined;
    const created = await core().createNamespacedPod({ namespace: ns.name, body: annotatedPod('while-down', { 'dapr.io/app-id': 'while-down' }) });
    assert.deepEqual(created.spec?.containers?.map((c) => c.name), ['app']);

    stopInjector = await startInjector(requireTestCluster());
    const event = await pollUntil(
      'a DaprSidecarMissing Event for the pod created while the injector was down',
      async () => {
        const list = await core().listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=while-down' });
        return list.items.find((e) => e.reason === 'DaprSidecarMissing');
      },
      WAIT,
    );
    assert.equal(event.type, 'Warning');
    assert.equal(event.involvedObject.kind, 'Pod');
    assert.match(event.message ?? '', /has dapr\.io\/enabled: "true" but no daprd sidecar/);
    // And the restarted injector injects again, with a new certificate the caBundle now follows.
    await pollUntil(
      'the restarted injector to inject again',
      async () => {
        const dry = await core().createNamespacedPod({ namespace: ns.name, body: annotatedPod('dry-run-2', { 'dapr.io/app-id': 'dry' }), dryRun: 'All' });
        return dry.spec?.containers?.some((c) => c.name === 'daprd') ? true : undefined;
      },
      WAIT,
    );
  });
});

function annotatedPod(name: string, annotations: Record<string, string>): V1Pod {
  return {
    metadata: { name, labels: { app: name }, annotations: { 'dapr.io/enabled': 'true', ...annotations } },
    spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  };
}

function container(pod: V1Pod, name: string): Container {
  const found = pod.spec?.containers?.find((c) => c.name === name);
  assert.ok(found, `pod ${pod.metadata?.name} has no container ${name}: ${JSON.stringify(pod.spec?.containers?.map((c) => c.name))}`);
  return found as unknown as Container;
}

/** client-node returns model classes; compare their JSON. */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function flag(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

/** Request options that collect the `Warning` response headers (admission warnings reach the client there). */
function captureWarnings(into: string[]): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context) => new Observable(Promise.resolve(context)),
        post: (response) => {
          const header = response.headers.warning ?? response.headers.Warning;
          if (header) into.push(header);
          return new Observable(Promise.resolve(response));
        },
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}
