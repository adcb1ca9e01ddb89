/**
 * Our injector and upstream's 1.17.5 as processes against a real
 * kube-apiserver, each as the chart runs it in `dapr-system`: the env
 * upstream's chart sets (SIDECAR_IMAGE, NAMESPACE, KUBE_CLUSTER_DOMAIN,
 * DAPR_TRUST_ANCHORS_FILE, DAPR_SENTRY_ADDRESS), and the serving certificate
 * the `dapr-injector` SVID from our Sentry, asked for with a token bound to a
 * control-plane pod. Both then serve the same kind of certificate and read
 * the same cluster.
 *
 * What upstream needs to start, from its cmd/injector and pkg/injector at
 * v1.17.5: a non-root user or DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK; the
 * API server (it lists ServiceAccounts for the allow-list UIDs, and patches
 * the caBundle of the MutatingWebhookConfiguration named
 * `dapr-sidecar-injector`, failing if it is missing); Sentry. Per admission
 * it GETs the `daprsystem` Configuration from the API server.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { applyCrds, binaryPath, controlPlaneToken, freePorts, pollUntil, probe, repoRoot, startProcess, type Cluster, type ManagedProcess } from '@tsdapr/e2e-harness';
import type { AdmissionTarget } from './admission-load.js';

const NAMESPACE = 'dapr-system';
const TRUST_DOMAIN = 'cluster.local';
const SIDECAR_IMAGE = 'docker.io/daprio/daprd:1.17.5';
/** The name upstream's injector patches, hard-coded. */
const UPSTREAM_WEBHOOK_CONFIGURATION = 'dapr-sidecar-injector';
const OUR_WEBHOOK_CONFIGURATION = 'tsdapr-bench-injector';
/** Both SVIDs carry the injector Service's DNS name, which the API server would dial. */
export const INJECTOR_SERVER_NAME = `dapr-sidecar-injector.${NAMESPACE}.svc`;

export interface InjectorProcesses {
  readonly ours: AdmissionTarget;
  readonly upstream: AdmissionTarget;
  /** The UID of kube-system/replicaset-controller, which both resolve into their allow-list at start. */
  readonly replicaSetControllerUid: string;
  stop(): Promise<void>;
}

interface Started {
  readonly process: ManagedProcess;
  readonly port: number;
}

async function startAndWait(name: string, command: string, args: string[], env: Record<string, string>, healthz: { port: number; path: string }, logFile: string): Promise<ManagedProcess> {
  const child = startProcess({ name, command, args, env, logFile });
  try {
    await pollUntil(
      `${name} ${healthz.path}`,
      async () => {
        if (child.hasExited()) throw new Error(`${name} exited; see ${logFile}`);
        return (await probe(`http://127.0.0.1:${healthz.port}${healthz.path}`).catch(() => undefined))?.status === 200 ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );
  } catch (err) {
    await child.stop(2000);
    throw err;
  }
  return child;
}

/** A webhook configuration the API server never calls (no namespace matches): only its caBundle is written. */
function unusedWebhookConfiguration(name: string, port: number): object {
  return {
    metadata: { name },
    webhooks: [
      {
        name: 'sidecar-injector.dapr.io',
        clientConfig: { url: `https://127.0.0.1:${port}/mutate` },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }],
        namespaceSelector: { matchLabels: { 'tsdapr.io/never': 'true' } },
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
      },
    ],
  };
}

/** The controller whose pods the injectors are meant to patch, with its UID (created when the controller-manager has not). */
async function replicaSetControllerUid(kubeConfig: KubeConfig): Promise<string> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const existing = await core.readNamespacedServiceAccount({ namespace: 'kube-system', name: 'replicaset-controller' }).catch(() => undefined);
  const account = existing ?? (await core.createNamespacedServiceAccount({ namespace: 'kube-system', body: { metadata: { name: 'replicaset-controller' } } }));
  const uid = account.metadata?.uid;
  if (!uid) throw new Error('ServiceAccount kube-system/replicaset-controller has no uid');
  return uid;
}

export async function startInjectorProcesses(cluster: Cluster, dir: string): Promise<InjectorProcesses> {
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const started: ManagedProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of started.reverse()) await child.stop(5000);
  };
  try {
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await applyCrds(cluster.kubeconfigPath, kubeConfig);
    // The mTLS setting both read: ours from a watch, upstream's with a GET per admission.
    await kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'dapr.io',
      version: 'v1alpha1',
      namespace: NAMESPACE,
      plural: 'configurations',
      body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name: 'daprsystem' }, spec: { mtls: { enabled: true } } },
    });
    const uid = await replicaSetControllerUid(kubeConfig);

    const [sentryPort, sentryHealthz, sentryMetrics, oursPort, oursHealthz, oursMetrics, upstreamPort, upstreamHealthz, upstreamMetrics] = (await freePorts(9)) as [
      number, number, number, number, number, number, number, number, number,
    ];
    const env = { NAMESPACE };
    started.push(
      await startAndWait(
        'sentry',
        process.execPath,
        [join(repoRoot(), 'packages/sentry/dist/main.bundle.mjs'), '--mode', 'kubernetes', '--kubeconfig', cluster.kubeconfigPath, '--trust-domain', TRUST_DOMAIN, '--listen-address', '127.0.0.1', '--port', String(sentryPort), '--healthz-port', String(sentryHealthz), '--metrics-port', String(sentryMetrics), '--log-level', 'warn'],
        env,
        { port: sentryHealthz, path: '/readyz' },
        join(dir, 'sentry.log'),
      ),
    );
    const anchors = (await core.readNamespacedConfigMap({ namespace: NAMESPACE, name: 'dapr-trust-bundle' })).data?.['ca.crt'] ?? '';
    if (!anchors.includes('BEGIN CERTIFICATE')) throw new Error(`ConfigMap ${NAMESPACE}/dapr-trust-bundle has no ca.crt`);
    const anchorsFile = join(dir, 'ca.crt');
    await writeFile(anchorsFile, anchors);
    const tokenFile = join(dir, 'injector.token');
    await controlPlaneToken(kubeConfig, { namespace: NAMESPACE, trustDomain: TRUST_DOMAIN, name: 'injector', tokenFile });

    for (const [name, port] of [[UPSTREAM_WEBHOOK_CONFIGURATION, upstreamPort], [OUR_WEBHOOK_CONFIGURATION, oursPort]] as const) {
      await admission.createMutatingWebhookConfiguration({ body: unusedWebhookConfiguration(name, port) });
    }
    const chartEnv = {
      ...env,
      SIDECAR_IMAGE,
      KUBE_CLUSTER_DOMAIN: 'cluster.local',
      DAPR_TRUST_ANCHORS_FILE: anchorsFile,
      DAPR_CONTROL_PLANE_TRUST_DOMAIN: TRUST_DOMAIN,
      DAPR_SENTRY_ADDRESS: `127.0.0.1:${sentryPort}`,
      DAPR_SENTRY_TOKEN_FILE: tokenFile,
    };
    // Both at their default log level, info, as the chart runs them.
    const ours: Started = {
      port: oursPort,
      process: await startAndWait(
        'tsdapr injector',
        process.execPath,
        [
          join(repoRoot(), 'packages/injector/dist/main.bundle.mjs'), '--kubeconfig', cluster.kubeconfigPath, '--listen-address', '127.0.0.1', '--port', String(oursPort),
          '--healthz-port', String(oursHealthz), '--metrics-port', String(oursMetrics), '--webhook-configuration-name', OUR_WEBHOOK_CONFIGURATION,
        ],
        chartEnv,
        { port: oursHealthz, path: '/readyz' },
        join(dir, 'tsdapr-injector.log'),
      ),
    };
    started.push(ours.process);
    const upstream: Started = {
      port: upstreamPort,
      process: await startAndWait(
        'upstream injector',
        binaryPath('upstream-injector'),
        ['--kubeconfig', cluster.kubeconfigPath, '--port', String(upstreamPort), '--healthz-port', String(upstreamHealthz), '--metrics-port', String(upstreamMetrics)],
        // Outside a container it runs as root, which upstream refuses in Kubernetes mode unless told.
        { ...chartEnv, DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK: 'true' },
        { port: upstreamHealthz, path: '/healthz' },
        join(dir, 'upstream-injector.log'),
      ),
    };
    started.push(upstream.process);

    const target = (name: string, s: Started): AdmissionTarget => ({ name, port: s.port, path: '/mutate', ca: anchors, servername: INJECTOR_SERVER_NAME, pid: s.process.pid, patches: true });
    return { ours: target('tsdapr injector (service process)', ours), upstream: target('upstream injector 1.17.5', upstream), replicaSetControllerUid: uid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
