import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api, ApiextensionsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { freePorts, pollUntil, probe, repoRoot, startProcess, type ManagedProcess } from '@tsdapr/e2e-harness';

const run = promisify(execFile);

export const TRUST_DOMAIN = 'cluster.local';
export const SIDECAR_IMAGE = 'docker.io/daprio/daprd:1.17.5';

export interface NodeService {
  readonly name: string;
  readonly process: ManagedProcess;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Runs a built tsdapr service (`packages/<name>/dist/main.js`) with exactly the
 * flags given (the services differ in their port flags) and waits for /readyz.
 */
export async function startNodeService(name: 'sentry' | 'placement' | 'operator' | 'injector', healthzPort: number, args: readonly string[], env: Record<string, string>): Promise<NodeService> {
  let output = '';
  const child = startProcess({
    name,
    command: process.execPath,
    args: [join(repoRoot(), 'packages', name, 'dist', 'main.js'), '--healthz-port', String(healthzPort), '--log-level', 'debug', ...args],
    env: { ...(process.env as Record<string, string>), ...env },
    onOutput: (chunk) => {
      output += chunk.toString('utf8');
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
    },
  });
  try {
    await pollUntil(
      `${name} /readyz`,
      async () => {
        if (child.hasExited()) throw new Error(`${name} exited`);
        const response = await probe(`http://127.0.0.1:${healthzPort}/readyz`).catch(() => undefined);
        if (response?.status === 200) return true;
        throw new Error(response ? `HTTP ${response.status} ${response.body}` : 'no answer');
      },
      { timeoutMs: 60_000 },
    );
  } catch (err) {
    await child.stop(1000);
    throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${output.slice(-4000)}`, { cause: err });
  }
  return { name, process: child, logs: () => output, stop: () => child.stop(5000) };
}

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}

/**
 * What the kubelet does for a control-plane pod of the chart: a pod object
 * annotated `dapr.io/control-plane: <name>` running as `dapr-<name>`, and a
 * projected token bound to it whose audience is sentry's SPIFFE ID (as
 * e2e/harness/src/local-control-plane.ts does for `pnpm start`).
 */
export async function controlPlaneToken(kubeConfig: KubeConfig, namespace: string, name: 'placement' | 'operator' | 'injector', tokenFile: string): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const serviceAccount = `dapr-${name}`;
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount } } }).catch(ignoreConflict);
  const podName = `dapr-${name}-local`;
  const pod = await core
    .createNamespacedPod({
      namespace,
      body: {
        metadata: { name: podName, annotations: { 'dapr.io/control-plane': name }, labels: { app: `dapr-${name}` } },
        spec: { serviceAccountName: serviceAccount, containers: [{ name, image: 'tsdapr:local' }] },
      },
    })
    .catch(async (err: unknown) => {
      ignoreConflict(err);
      return core.readNamespacedPod({ namespace, name: podName });
    });
  const request = await core.createNamespacedServiceAccountToken({
    namespace,
    name: serviceAccount,
    body: {
      spec: {
        audiences: [`spiffe://${TRUST_DOMAIN}/ns/${namespace}/dapr-sentry`],
        expirationSeconds: 86_400,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: podName, uid: pod.metadata?.uid ?? '' },
      },
    },
  });
  await writeFile(tokenFile, request.status?.token ?? '', { mode: 0o600 });
}

/** The CRDs as generated into crds/, applied server-side (the client library drops `x-kubernetes-*` keys). */
export async function applyCrds(kubeconfigPath: string, kubeConfig: KubeConfig): Promise<void> {
  await run('kubectl', ['--kubeconfig', kubeconfigPath, 'apply', '--server-side', '--force-conflicts', '--field-manager', 'tsdapr-e2e-system', '-f', join(repoRoot(), 'crds')], { timeout: 60_000 });
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  for (const plural of ['components', 'configurations', 'subscriptions', 'resiliencies', 'httpendpoints']) {
    await pollUntil(
      `CRD ${plural}.dapr.io established`,
      async () => {
        const crd = await extensions.readCustomResourceDefinition({ name: `${plural}.dapr.io` });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
  }
}

export interface KubernetesControlPlane {
  readonly namespace: string;
  readonly anchorsFile: string;
  readonly trustAnchorsPem: string;
  readonly sentryPort: number;
  readonly operatorApiPort: number;
  readonly placementPort: number;
  readonly injectorPort: number;
  readonly webhookConfigurationName: string;
  readonly services: readonly NodeService[];
  /** Every service's output, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface KubernetesControlPlaneOptions {
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  /** The control-plane namespace (must exist). */
  readonly namespace: string;
  /** The only namespace whose pods the webhook sees. */
  readonly appNamespace: string;
}

/**
 * Our sentry, operator, placement and injector as processes against the real
 * API server, as the chart runs them in `namespace`; the injector registered
 * through a MutatingWebhookConfiguration at https://127.0.0.1:<port>/mutate
 * that only matches `appNamespace`.
 */
export async function startKubernetesControlPlane(options: KubernetesControlPlaneOptions): Promise<KubernetesControlPlane> {
  const { kubeconfigPath, kubeConfig, namespace } = options;
  const dir = await mkdtemp(join(tmpdir(), 'tsdapr-k8s-cp-'));
  const env = { NAMESPACE: namespace };
  const services: NodeService[] = [];
  const webhookConfigurationName = `tsdapr-e2e-injector-${options.appNamespace}`;
  const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  let webhookCreated = false;
  const stop = async (): Promise<void> => {
    // The webhook first: with failurePolicy Fail it would block pod creation once the injector is gone.
    if (webhookCreated) await admission.deleteMutatingWebhookConfiguration({ name: webhookConfigurationName }).catch(() => undefined);
    for (const service of [...services].reverse()) await service.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [sentryPort, sentryHealthz, sentryMetrics, apiPort, operatorWebhookPort, operatorHealthz, operatorMetrics, placementPort, placementHealthz, placementMetrics, injectorPort, injectorHealthz, injectorMetrics] =
      (await freePorts(13)) as [number, number, number, number, number, number, number, number, number, number, number, number, number];

    services.push(
      await startNodeService('sentry', sentryHealthz, ['--mode', 'kubernetes', '--kubeconfig', kubeconfigPath, '--trust-domain', TRUST_DOMAIN, '--listen-address', '127.0.0.1', '--port', String(sentryPort), '--metrics-port', String(sentryMetrics)], env),
    );
    // The ConfigMap the chart mounts at /var/run/secrets/dapr.io/tls.
    const bundle = await kubeConfig.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace, name: 'dapr-trust-bundle' });
    const trustAnchorsPem = bundle.data?.['ca.crt'] ?? '';
    if (!trustAnchorsPem.includes('BEGIN CERTIFICATE')) throw new Error(`ConfigMap ${namespace}/dapr-trust-bundle has no ca.crt`);
    const anchorsFile = join(dir, 'ca.crt');
    await writeFile(anchorsFile, trustAnchorsPem);
    const sentryAddress = `127.0.0.1:${sentryPort}`;

    await applyCrds(kubeconfigPath, kubeConfig);

    const operatorToken = join(dir, 'operator.token');
    await controlPlaneToken(kubeConfig, namespace, 'operator', operatorToken);
    services.push(
      await startNodeService(
        'operator',
        operatorHealthz,
        [
          '--kubeconfig', kubeconfigPath, '--trust-domain', TRUST_DOMAIN, '--sentry-address', sentryAddress, '--sentry-token-file', operatorToken, '--trust-anchors-file', anchorsFile,
          '--api-listen-address', '127.0.0.1', '--api-port', String(apiPort), '--webhook-listen-address', '127.0.0.1', '--webhook-port', String(operatorWebhookPort), '--metrics-port', String(operatorMetrics),
        ],
        env,
      ),
    );

    const placementToken = join(dir, 'placement.token');
    await controlPlaneToken(kubeConfig, namespace, 'placement', placementToken);
    services.push(
      await startNodeService(
        'placement',
        placementHealthz,
        [
          '--mode', 'kubernetes', '--kubeconfig', kubeconfigPath, '--tls-enabled', '--trust-domain', TRUST_DOMAIN, '--sentry-address', sentryAddress, '--sentry-token-file', placementToken, '--trust-anchors-file', anchorsFile,
          '--listen-address', '127.0.0.1', '--port', String(placementPort), '--metrics-port', String(placementMetrics),
        ],
        env,
      ),
    );

    // Registered before the injector starts, which patches its caBundle.
    await admission.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: webhookConfigurationName },
        webhooks: [
          {
            name: 'sidecar-injector.dapr.io',
            clientConfig: { url: `https://127.0.0.1:${injectorPort}/mutate` },
            rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }],
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': options.appNamespace } },
            failurePolicy: 'Fail',
            sideEffects: 'None',
            admissionReviewVersions: ['v1', 'v1beta1'],
            reinvocationPolicy: 'IfNeeded',
          },
        ],
      },
    });
    webhookCreated = true;
    services.push(
      await startNodeService(
        'injector',
        injectorHealthz,
        [
          '--kubeconfig', kubeconfigPath, '--listen-address', '127.0.0.1', '--port', String(injectorPort), '--metrics-port', String(injectorMetrics),
          '--webhook-configuration-name', webhookConfigurationName,
          // Outside a pod the injector has no service-account token of its own, which
          // (as upstream) would leave out the sidecar's dapr-identity-token volume.
          '--sidecar-token-volume', 'true',
          // No scheduler runs in this test: inject as a chart with the scheduler disabled.
          '--scheduler-enabled=false',
        ],
        { ...env, SIDECAR_IMAGE, DAPR_TRUST_ANCHORS_FILE: anchorsFile, KUBE_CLUSTER_DOMAIN: 'cluster.local' },
      ),
    );
    await pollUntil(
      `caBundle of MutatingWebhookConfiguration ${webhookConfigurationName}`,
      async () => ((await admission.readMutatingWebhookConfiguration({ name: webhookConfigurationName })).webhooks?.[0]?.clientConfig.caBundle ? true : undefined),
      { timeoutMs: 30_000 },
    );

    return {
      namespace,
      anchorsFile,
      trustAnchorsPem,
      sentryPort,
      operatorApiPort: apiPort,
      placementPort,
      injectorPort,
      webhookConfigurationName,
      services,
      logs: () => services.map((service) => `--- ${service.name} (tail) ---\n${service.logs().slice(-3000)}`).join('\n'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
