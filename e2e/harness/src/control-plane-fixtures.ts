import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiextensionsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { repoRoot } from './binaries.js';
import { pollUntil, probe } from './http-probe.js';
import { startProcess, type ManagedProcess } from './managed-process.js';

const run = promisify(execFile);

export type ServiceName = 'sentry' | 'placement' | 'operator' | 'injector' | 'scheduler';

/**
 * The chart's default `nodeOptions` per service (charts/tsdapr/values.yaml;
 * a chart test keeps the two equal), so that a service started here runs as
 * in a pod. The operator's smaller semi-space: 85 against 99 MiB RSS with no
 * change in CPU per change, side by side in bench/operator.
 */
export const CHART_NODE_OPTIONS: Readonly<Record<ServiceName, string>> = { sentry: '', placement: '', operator: '--max-semi-space-size=1', injector: '', scheduler: '' };

export interface ServiceProcess {
  readonly name: ServiceName;
  readonly process: ManagedProcess;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Runs a built tsdapr service (`packages/<name>/dist/main.bundle.mjs`, what
 * the chart runs) as a process,
 * as it runs in a pod, with exactly the flags given (the services name their
 * ports differently) and waits until `/readyz` on `healthzPort` answers 200.
 */
export async function startServiceProcess(name: ServiceName, healthzPort: number, args: readonly string[], env: Record<string, string> = {}, logFile?: string): Promise<ServiceProcess> {
  let output = '';
  const child = startProcess({
    name,
    command: process.execPath,
    args: [join(repoRoot(), 'packages', name, 'dist', 'main.bundle.mjs'), '--healthz-port', String(healthzPort), '--log-level', 'debug', ...args],
    env: { ...(process.env as Record<string, string>), ...(CHART_NODE_OPTIONS[name] ? { NODE_OPTIONS: CHART_NODE_OPTIONS[name] } : {}), ...env },
    ...(logFile ? { logFile } : {}),
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
        return response?.status === 200 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  } catch (err) {
    await child.stop(1000);
    throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${output.slice(-4000)}`, { cause: err });
  }
  return { name, process: child, logs: () => output, stop: () => child.stop(5000) };
}

async function conversionClientBackToService(extensions: ApiextensionsV1Api): Promise<void> {
  let url: string | undefined;
  try {
    url = (await extensions.readCustomResourceDefinition({ name: 'subscriptions.dapr.io' })).spec.conversion?.webhook?.clientConfig?.url;
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return;
    throw err;
  }
  if (!url) return;
  await extensions.patchCustomResourceDefinition(
    { name: 'subscriptions.dapr.io', body: { spec: { conversion: { webhook: { clientConfig: { url: null, service: { namespace: 'dapr-system', name: 'dapr-webhook', path: '/convert', port: 443 } } } } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}

/**
 * What the kubelet does for a control-plane pod of the chart: a pod object
 * annotated `dapr.io/control-plane: <name>` running as `dapr-<name>`, and a
 * projected token bound to it whose audience is sentry's SPIFFE ID, written
 * where the local process reads it.
 */
export async function controlPlaneToken(
  kubeConfig: KubeConfig,
  options: { namespace: string; trustDomain: string; name: 'placement' | 'operator' | 'injector' | 'scheduler'; tokenFile: string },
): Promise<void> {
  const { namespace, name } = options;
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
        audiences: [`spiffe://${options.trustDomain}/ns/${namespace}/dapr-sentry`],
        expirationSeconds: 86_400,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: podName, uid: pod.metadata?.uid ?? '' },
      },
    },
  });
  await writeFile(options.tokenFile, request.status?.token ?? '', { mode: 0o600 });
}

/** The CRDs as generated into crds/, applied server-side (the client library drops `x-kubernetes-*` keys), then waited for. */
export async function applyCrds(kubeconfigPath: string, kubeConfig: KubeConfig): Promise<void> {
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  // An operator run with --webhook-registration=url left the conversion client
  // as a url, beside which this apply would put the CRD's service: the API
  // server refuses both. Put the service back first; retried, since an
  // operator still running may register its url again in between.
  for (let attempt = 1; ; attempt++) {
    await conversionClientBackToService(extensions);
    try {
      await run('kubectl', ['--kubeconfig', kubeconfigPath, 'apply', '--server-side', '--force-conflicts', '--field-manager', 'tsdapr', '-f', join(repoRoot(), 'crds')], { timeout: 60_000 });
      break;
    } catch (err) {
      if (attempt >= 3 || !/exactly one of url or service/.test((err as Error).message)) throw err;
    }
  }
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
