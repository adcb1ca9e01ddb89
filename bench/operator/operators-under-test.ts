import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { binaryPath, freePorts, pollUntil, probe, startProcess, startServiceProcess } from '@tsdapr/e2e-harness';

/** The operator's `--validating-webhook-configuration-name` default. */
const OUR_VALIDATING_WEBHOOK = 'dapr-operator';

/** `tsdapr, NODE_OPTIONS`: ours again in the same run, with `--tsdapr-node-options` in NODE_OPTIONS. */
export type Implementation = 'tsdapr' | 'tsdapr, NODE_OPTIONS' | 'upstream 1.17.5';

/** What a benchmark needs of a running operator: where its API listens and which pid to read /proc of. */
export interface OperatorUnderTest {
  readonly implementation: Implementation;
  readonly pid: number;
  readonly apiPort: number;
  /** From spawn until its health endpoint answered 200. */
  readonly startupMs: number;
  stop(): Promise<void>;
}

/** The control plane both operators run against: the same API server, Sentry, trust anchors and control-plane token. */
export interface OperatorEnvironment {
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly trustDomain: string;
  readonly sentryAddress: string;
  readonly anchorsFile: string;
  /** A projected token bound to the `dapr.io/control-plane: operator` pod, as the chart mounts it. */
  readonly tokenFile: string;
  readonly logDir: string;
}

/** Ours, started as the chart runs it (SVID from Sentry with the control-plane token, the chart's NODE_OPTIONS unless `nodeOptions` is given), logging at info as in production. */
export async function startOurOperator(env: OperatorEnvironment, run: number, nodeOptions?: string): Promise<OperatorUnderTest> {
  const [apiPort, webhookPort, healthzPort, metricsPort] = (await freePorts(4)) as [number, number, number, number];
  const startedAt = performance.now();
  const service = await startServiceProcess(
    'operator',
    healthzPort,
    [
      '--kubeconfig', env.kubeconfigPath, '--trust-domain', env.trustDomain, '--sentry-address', env.sentryAddress, '--sentry-token-file', env.tokenFile, '--trust-anchors-file', env.anchorsFile,
      '--api-listen-address', '127.0.0.1', '--api-port', String(apiPort), '--webhook-listen-address', '127.0.0.1', '--webhook-port', String(webhookPort),
      '--metrics-listen-address', '127.0.0.1', '--metrics-port', String(metricsPort), '--log-level', 'info',
    ],
    { NAMESPACE: env.namespace, ...(nodeOptions !== undefined ? { NODE_OPTIONS: nodeOptions } : {}) },
    join(env.logDir, `operator-tsdapr-${run}.log`),
  );
  const stop = async (): Promise<void> => {
    await service.stop();
    // Its ValidatingWebhookConfiguration (failurePolicy Ignore) outlives it and
    // would put a refused connection on every later Component write, upstream's runs included.
    await env.kubeConfig
      .makeApiClient(AdmissionregistrationV1Api)
      .deleteValidatingWebhookConfiguration({ name: OUR_VALIDATING_WEBHOOK })
      .catch((err: unknown) => {
        if ((err as { code?: number }).code !== 404) throw err;
      });
  };
  return { implementation: nodeOptions !== undefined ? 'tsdapr, NODE_OPTIONS' : 'tsdapr', pid: service.process.pid, apiPort, startupMs: performance.now() - startedAt, stop };
}

/**
 * The `daprsystem` Configuration upstream's operator reads at startup: it
 * names the Sentry to get its SVID from and the control-plane trust domain.
 */
export async function createDaprSystemConfiguration(env: OperatorEnvironment): Promise<void> {
  await env.kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'dapr.io',
    version: 'v1alpha1',
    namespace: env.namespace,
    plural: 'configurations',
    body: {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Configuration',
      metadata: { name: 'daprsystem' },
      spec: { mtls: { enabled: true, controlPlaneTrustDomain: env.trustDomain, sentryAddress: env.sentryAddress } },
    },
  });
}

/**
 * Upstream's operator 1.17.5 as a process outside a pod. Deviations from the
 * chart, each because there is no pod: a kubeconfig (--kubeconfig); the
 * Sentry token from DAPR_SENTRY_TOKEN_FILE (upstream's own override of
 * /var/run/secrets/dapr.io/sentrytoken/token); leader election off
 * (controller-runtime finds the Lease namespace only in a pod); and
 * ENABLE_WEBHOOKS=false, upstream's switch for running locally, which keeps it
 * from pointing the Subscription CRD's conversion at a `dapr-webhook` Service
 * that does not exist here; DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK because
 * this machine runs it as root. Its Component stream and caches are as in a pod.
 */
export async function startUpstreamOperator(env: OperatorEnvironment, run: number): Promise<OperatorUnderTest> {
  const [apiPort, webhookPort, healthzPort, metricsPort] = (await freePorts(4)) as [number, number, number, number];
  const logFile = join(env.logDir, `operator-upstream-${run}.log`);
  const startedAt = performance.now();
  const child = startProcess({
    name: 'upstream-operator',
    command: binaryPath('upstream-operator'),
    args: [
      '--listen-address', '127.0.0.1', '--port', String(apiPort), '--healthz-listen-address', '127.0.0.1', '--healthz-port', String(healthzPort),
      '--webhook-server-listen-address', '127.0.0.1', '--webhook-server-port', String(webhookPort), '--metrics-listen-address', '127.0.0.1', '--metrics-port', String(metricsPort),
      '--kubeconfig', env.kubeconfigPath,
      '--trust-anchors-file', env.anchorsFile, '--disable-leader-election', '--log-level', 'info',
    ],
    env: { NAMESPACE: env.namespace, DAPR_SENTRY_TOKEN_FILE: env.tokenFile, ENABLE_WEBHOOKS: 'false', DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK: 'true' },
    logFile,
  });
  try {
    await pollUntil(
      'upstream operator /healthz',
      async () => {
        const response = await probe(`http://127.0.0.1:${healthzPort}/healthz`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      },
      { timeoutMs: 120_000, abortWhen: child.exited.then(async () => new Error(`upstream operator exited: ${lastLine(await readFile(logFile, 'utf8').catch(() => ''))}`)) },
    );
  } catch (err) {
    await child.stop(1000);
    throw err;
  }
  return { implementation: 'upstream 1.17.5', pid: child.pid, apiPort, startupMs: performance.now() - startedAt, stop: () => child.stop(5000) };
}

/** The last non-empty line of a log, which is where a Go program's fatal error is. */
function lastLine(log: string): string {
  return log.trim().split('\n').pop() ?? '(no output)';
}
