import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, type KubeConfig, type V1LabelSelector } from '@kubernetes/client-node';
import { binaryPath } from './binaries.js';
import { applyCrds, controlPlaneToken, startServiceProcess, type ServiceProcess } from './control-plane-fixtures.js';
import { freePorts } from './free-port.js';
import { pollUntil } from './http-probe.js';

export const TRUST_DOMAIN = 'cluster.local';
export const SIDECAR_IMAGE = 'docker.io/daprio/daprd:1.17.5';

export interface KubernetesControlPlane {
  readonly namespace: string;
  readonly anchorsFile: string;
  readonly trustAnchorsPem: string;
  readonly sentryPort: number;
  readonly operatorApiPort: number;
  readonly placementPort: number;
  /** Placement's /healthz port, which also serves GET /placement/state (its members per namespace). */
  readonly placementHealthzPort: number;
  readonly injectorPort: number;
  /** The scheduler's gRPC port (what `dapr-scheduler-server-a...:443` stands for); it runs its embedded etcd. */
  readonly schedulerPort: number;
  readonly schedulerHealthzPort: number;
  readonly webhookConfigurationName: string;
  readonly services: readonly ServiceProcess[];
  /** Every service's output, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface KubernetesControlPlaneOptions {
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  /** The control-plane namespace (must exist). */
  readonly namespace: string;
  /** Which namespaces' pods the webhook sees. */
  readonly webhookNamespaceSelector: V1LabelSelector;
  /** Fail in tests (a missed injection is a failure); Ignore, as the chart, for a person's cluster. */
  readonly webhookFailurePolicy: 'Fail' | 'Ignore';
  /** Unique per control plane: the MutatingWebhookConfiguration is cluster-wide. */
  readonly webhookConfigurationName: string;
  /**
   * The operator registers its webhooks at https://localhost:<port> (a
   * person's cluster: the API server then really converts and validates).
   * Off: registered as in a pod, through the dapr-webhook Service, which no
   * process backs; tests that share a cluster keep it off, since the
   * Subscription CRD's conversion client is cluster-wide.
   */
  readonly operatorWebhooksByUrl?: boolean;
  /**
   * The one namespace the operator watches and writes in (its Services and
   * Component status). Tests that share a cluster set it: an operator that
   * watches everything reconciles other tests' Deployments too.
   */
  readonly operatorWatchNamespace?: string;
  /** Where each service's output goes as `<name>.log`, besides memory. */
  readonly logDir?: string;
}

/**
 * Our sentry, operator, placement, scheduler and injector as processes against the real
 * API server, as the chart runs them in `namespace`; the injector registered
 * through a MutatingWebhookConfiguration at https://127.0.0.1:<port>/mutate
 * for the namespaces the selector matches.
 */
export async function startKubernetesControlPlane(options: KubernetesControlPlaneOptions): Promise<KubernetesControlPlane> {
  const { kubeconfigPath, kubeConfig, namespace } = options;
  const dir = await mkdtemp(join(tmpdir(), 'tsdapr-k8s-cp-'));
  const env = { NAMESPACE: namespace };
  const services: ServiceProcess[] = [];
  const webhookConfigurationName = options.webhookConfigurationName;
  const logFileOf = (name: string): string | undefined => (options.logDir ? join(options.logDir, `${name}.log`) : undefined);
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
    const [schedulerPort, schedulerHealthz, schedulerMetrics, etcdClientPort, etcdPeerPort] = (await freePorts(5)) as [number, number, number, number, number];

    services.push(
      await startServiceProcess('sentry', sentryHealthz, ['--mode', 'kubernetes', '--kubeconfig', kubeconfigPath, '--trust-domain', TRUST_DOMAIN, '--listen-address', '127.0.0.1', '--port', String(sentryPort), '--metrics-port', String(sentryMetrics)], env, logFileOf('sentry')),
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
    await controlPlaneToken(kubeConfig, { namespace, trustDomain: TRUST_DOMAIN, name: 'operator', tokenFile: operatorToken });
    services.push(
      await startServiceProcess(
        'operator',
        operatorHealthz,
        [
          '--kubeconfig', kubeconfigPath, '--trust-domain', TRUST_DOMAIN, '--sentry-address', sentryAddress, '--sentry-token-file', operatorToken, '--trust-anchors-file', anchorsFile,
          '--api-listen-address', '127.0.0.1', '--api-port', String(apiPort), '--webhook-listen-address', '127.0.0.1', '--webhook-port', String(operatorWebhookPort), '--metrics-port', String(operatorMetrics),
          // Unique, like the injector's: the ValidatingWebhookConfiguration is cluster-wide.
          '--validating-webhook-configuration-name', `${webhookConfigurationName}-operator`,
          ...(options.operatorWatchNamespace ? ['--watch-namespace', options.operatorWatchNamespace] : []),
          ...(options.operatorWebhooksByUrl ? ['--webhook-registration', 'url'] : []),
        ],
        env,
        logFileOf('operator'),
      ),
    );

    const placementToken = join(dir, 'placement.token');
    await controlPlaneToken(kubeConfig, { namespace, trustDomain: TRUST_DOMAIN, name: 'placement', tokenFile: placementToken });
    services.push(
      await startServiceProcess(
        'placement',
        placementHealthz,
        [
          '--mode', 'kubernetes', '--kubeconfig', kubeconfigPath, '--tls-enabled', '--trust-domain', TRUST_DOMAIN, '--sentry-address', sentryAddress, '--sentry-token-file', placementToken, '--trust-anchors-file', anchorsFile,
          '--listen-address', '127.0.0.1', '--port', String(placementPort), '--metrics-port', String(placementMetrics),
          // Members per namespace at /placement/state, for people and for tsdapr status.
          '--metadata-enabled',
        ],
        env,
        logFileOf('placement'),
      ),
    );

    // The scheduler as the chart's StatefulSet runs it (one replica): Kubernetes mode (mTLS),
    // its SVID from sentry against a token bound to its pod, its own embedded etcd.
    const schedulerToken = join(dir, 'scheduler.token');
    await controlPlaneToken(kubeConfig, { namespace, trustDomain: TRUST_DOMAIN, name: 'scheduler', tokenFile: schedulerToken });
    services.push(
      await startServiceProcess(
        'scheduler',
        schedulerHealthz,
        [
          '--mode', 'kubernetes', '--trust-domain', TRUST_DOMAIN, '--sentry-address', sentryAddress, '--sentry-token-file', schedulerToken, '--trust-anchors-file', anchorsFile,
          '--listen-address', '127.0.0.1', '--port', String(schedulerPort), '--metrics-port', String(schedulerMetrics),
          '--etcd-binary', binaryPath('etcd'), '--etcd-data-dir', join(dir, 'scheduler-data'),
          '--etcd-client-port', String(etcdClientPort), '--etcd-peer-port', String(etcdPeerPort),
          '--etcd-initial-cluster', `dapr-scheduler-server-0=http://127.0.0.1:${etcdPeerPort}`,
        ],
        env,
        logFileOf('scheduler'),
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
            namespaceSelector: options.webhookNamespaceSelector,
            failurePolicy: options.webhookFailurePolicy,
            sideEffects: 'None',
            admissionReviewVersions: ['v1', 'v1beta1'],
            reinvocationPolicy: 'IfNeeded',
          },
        ],
      },
    });
    webhookCreated = true;
    services.push(
      await startServiceProcess(
        'injector',
        injectorHealthz,
        [
          '--kubeconfig', kubeconfigPath, '--listen-address', '127.0.0.1', '--port', String(injectorPort), '--metrics-port', String(injectorMetrics),
          '--webhook-configuration-name', webhookConfigurationName,
          // Outside a pod the injector has no service-account token of its own, which
          // (as upstream) would leave out the sidecar's dapr-identity-token volume.
          '--sidecar-token-volume', 'true',
        ],
        { ...env, SIDECAR_IMAGE, DAPR_TRUST_ANCHORS_FILE: anchorsFile, KUBE_CLUSTER_DOMAIN: 'cluster.local' },
        logFileOf('injector'),
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
      placementHealthzPort: placementHealthz,
      injectorPort,
      schedulerPort,
      schedulerHealthzPort: schedulerHealthz,
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
