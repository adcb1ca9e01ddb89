import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Container, type V1LabelSelector, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { pollUntil } from '@tsdapr/e2e-harness';
import { localPorts, startLocalPod, type RunningPod } from './local-pod.js';
import { clusterAddressMap, type LocalPod } from './pod-process.js';
import { WORKLOADS, type Service } from './workload.js';

/**
 * The control plane exactly as the chart installed it: every replica's pod,
 * as the controller manager created it from the installed Deployment or
 * StatefulSet (no kubelet runs them), started as a local process
 * (local-pod.ts) in the order a cluster converges to: sentry first, since the
 * others mount the trust anchors it writes, the injector last. A workload the
 * chart did not install (global.scheduler.enabled=false) has no pods to run.
 */
export interface ChartControlPlane {
  readonly namespace: string;
  readonly pods: readonly RunningPod[];
  /** The first replica of a service. */
  pod(service: Service): RunningPod;
  /** Every replica of a service, by pod name. */
  replicas(service: Service): RunningPod[];
  logs(): string;
  stop(): Promise<void>;
}

export interface ChartControlPlaneOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly clusterDomain?: string;
  readonly logDir?: string;
}

const run = promisify(execFile);
// The scheduler's replicas start together: each etcd member waits for a quorum of its peers before it is ready.
const START_ORDER: readonly Service[] = ['sentry', 'operator', 'placement', 'scheduler', 'injector'];
const WEBHOOK_CONFIGURATION = 'dapr-sidecar-injector';
const INJECTOR_SERVICE = 'dapr-sidecar-injector';

export async function startChartControlPlane(options: ChartControlPlaneOptions): Promise<ChartControlPlane> {
  const { kubeConfig: kc, namespace } = options;
  await requireMountNamespaces();
  const core = kc.makeApiClient(CoreV1Api);
  const server = new URL(kc.getCurrentCluster()?.server ?? '');
  const apiServer = { host: server.hostname, port: Number(server.port || 443) };

  const podsOf = new Map<Service, V1Pod[]>();
  for (const service of START_ORDER) podsOf.set(service, await workloadPods(kc, namespace, service));
  const containerOf = (pod: V1Pod): V1Container => {
    const container = pod.spec?.containers[0];
    if (!container) throw new Error(`pod ${pod.metadata?.name} has no container`);
    return container;
  };
  // Every pod's ports at once, so that no two pods share one.
  const allPods = [...podsOf.values()].flat();
  const portMaps = await localPorts(allPods.map(containerOf));
  const planned = new Map<Service, { pod: V1Pod; local: LocalPod }[]>(
    [...podsOf.entries()].map(([service, pods]) => [service, pods.map((pod) => ({ pod, local: { pod, container: containerOf(pod), ports: portMaps[allPods.indexOf(pod)] ?? new Map<number, number>() } }))]),
  );
  const services = (await core.listNamespacedService({ namespace })).items;
  const addresses = clusterAddressMap({ services, pods: [...planned.values()].flat().map((p) => p.local), clusterDomain: options.clusterDomain ?? 'cluster.local', apiServer });

  const running: RunningPod[] = [];
  let restoreWebhook: (() => Promise<void>) | undefined;
  const stop = async (): Promise<void> => {
    try {
      // The webhook first: while it points at a stopped injector every pod admission waits for it.
      await restoreWebhook?.();
      restoreWebhook = undefined;
    } finally {
      // In reverse start order, a workload's replicas together, as their kubelets would on `helm uninstall`
      // (one by one, the scheduler's last etcd member would first wait on a quorum already gone).
      const stopping = running.splice(0).reverse();
      while (stopping.length > 0) {
        const app = stopping[0]?.pod.metadata?.labels?.app;
        const end = stopping.findIndex((p) => p.pod.metadata?.labels?.app !== app);
        const group = stopping.splice(0, end === -1 ? stopping.length : end);
        await Promise.all(group.map((pod) => pod.stop()));
      }
    }
  };
  try {
    for (const service of START_ORDER) {
      const pods = planned.get(service) ?? [];
      if (service === 'injector') {
        // The API server calls the first replica (in a cluster the Service would spread the calls).
        const injectorPort = pods[0]?.local.ports.get(injectorContainerPort(services, pods[0].local));
        if (injectorPort === undefined) throw new Error('the injector has no local webhook port');
        restoreWebhook = await pointWebhookAtLocalInjector(kc, namespace, injectorPort);
      }
      // A workload's replicas start together, as the kubelets would start them (HA sentries race for the first trust bundle).
      const results = await Promise.allSettled(
        pods.map(({ pod, local }) =>
          startLocalPod({
            kubeConfig: kc,
            pod,
            ports: local.ports,
            addresses,
            apiServer,
            ...(options.logDir ? { logFile: join(options.logDir, `${pod.metadata?.name}.log`) } : {}),
          }),
        ),
      );
      for (const result of results) if (result.status === 'fulfilled') running.push(result.value);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (service === 'sentry') await trustAnchorsWritten(core, namespace);
    }
    await pollUntil(
      `caBundle of MutatingWebhookConfiguration ${WEBHOOK_CONFIGURATION}`,
      async () => ((await kc.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION })).webhooks?.[0]?.clientConfig.caBundle ? true : undefined),
      { timeoutMs: 30_000 },
    );
  } catch (err) {
    const logs = running.map((p) => `--- ${p.name} (tail) ---\n${p.logs().slice(-3000)}`).join('\n');
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
  return {
    namespace,
    pods: running,
    pod(service) {
      const found = running.find((p) => p.pod.metadata?.labels?.app === WORKLOADS[service].name);
      if (!found) throw new Error(`no running ${service} pod`);
      return found;
    },
    replicas: (service) => running.filter((p) => p.pod.metadata?.labels?.app === WORKLOADS[service].name).sort((a, b) => a.name.localeCompare(b.name)),
    logs: () => running.map((p) => `--- ${p.name} (tail) ---\n${p.logs().slice(-3000)}`).join('\n'),
    stop,
  };
}

/** Local pods need private mount namespaces (root, or CAP_SYS_ADMIN): say so once, plainly. */
async function requireMountNamespaces(): Promise<void> {
  try {
    await run('unshare', ['--mount', '--propagation', 'private', '--', 'true'], { timeout: 10_000 });
  } catch (err) {
    throw new Error(`the chart's pods run locally in private mount namespaces (unshare --mount), which this user cannot create (root or CAP_SYS_ADMIN is needed): ${(err as Error).message}`, { cause: err });
  }
}

/** The pods the controller manager made for the installed workload, one per replica, with the template's container as installed; none if it is not installed. */
async function workloadPods(kc: KubeConfig, namespace: string, service: Service): Promise<V1Pod[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  const { kind, name } = WORKLOADS[service];
  let workload;
  try {
    workload = kind === 'Deployment' ? await apps.readNamespacedDeployment({ name, namespace }) : await apps.readNamespacedStatefulSet({ name, namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404 && service === 'scheduler') return [];
    throw err;
  }
  const replicas = workload.spec?.replicas ?? 1;
  const selector = labelSelector(workload.spec?.selector);
  const template = workload.spec?.template.spec?.containers[0];
  const pods = await pollUntil(
    `${replicas} pod(s) of ${kind} ${name}`,
    async () => {
      const items = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
      return items.length === replicas ? items : undefined;
    },
    { timeoutMs: 60_000 },
  );
  for (const pod of pods) {
    const container = pod.spec?.containers[0];
    // What runs is what was installed: the pod's container is the workload's template.
    if (JSON.stringify([container?.command, container?.args, container?.env]) !== JSON.stringify([template?.command, template?.args, template?.env])) {
      throw new Error(`pod ${pod.metadata?.name} does not run the container of ${kind} ${name} as installed (an older revision?)`);
    }
  }
  return pods.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

function labelSelector(selector: V1LabelSelector | undefined): string {
  if (selector?.matchExpressions?.length) throw new Error('workload selectors with matchExpressions are not supported here');
  return Object.entries(selector?.matchLabels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** The container port behind the injector Service's port 443. */
function injectorContainerPort(services: readonly V1Service[], injector: LocalPod): number {
  const target = services.find((s) => s.metadata?.name === INJECTOR_SERVICE)?.spec?.ports?.find((p) => p.port === 443)?.targetPort;
  const port = typeof target === 'number' ? target : injector.container.ports?.find((p) => p.name === target)?.containerPort;
  if (port === undefined) throw new Error(`Service ${INJECTOR_SERVICE} has no port 443 to a container port of the injector`);
  return port;
}

/** Sentry writes the trust anchors at first start; the other pods mount them from the ConfigMap. */
async function trustAnchorsWritten(core: CoreV1Api, namespace: string): Promise<void> {
  await pollUntil(
    `ca.crt in ConfigMap ${namespace}/dapr-trust-bundle`,
    async () => ((await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace })).data?.['ca.crt']?.includes('BEGIN CERTIFICATE') ? true : undefined),
    { timeoutMs: 30_000 },
  );
}

/**
 * Makes the API server call the local injector while keeping the chart's
 * webhook as it is, TLS included. A `url` clientConfig cannot do that: the
 * injector serves its Sentry SVID (as upstream), whose only DNS name is
 * `dapr-sidecar-injector.<ns>.svc`, and an https://127.0.0.1 URL is verified
 * against IP names. So the `service` clientConfig stays, and what changes is
 * where the API server resolves it to: the chart's Service becomes an
 * ExternalName of 127.0.0.1 (the API server resolves ExternalName Services
 * itself, and still verifies the name dapr-sidecar-injector.<ns>.svc), and
 * the webhook's service port becomes the injector's local port. Returns what
 * puts both back as installed, so that `helm upgrade` finds the chart's own.
 */
async function pointWebhookAtLocalInjector(kc: KubeConfig, namespace: string, localPort: number): Promise<() => Promise<void>> {
  const core = kc.makeApiClient(CoreV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const json = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const installed = await core.readNamespacedService({ name: INJECTOR_SERVICE, namespace });
  const webhook = await admission.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });
  const installedPort = webhook.webhooks?.[0]?.clientConfig.service?.port ?? 443;
  if (webhook.webhooks?.[0]?.clientConfig.service?.namespace !== namespace) throw new Error(`MutatingWebhookConfiguration ${WEBHOOK_CONFIGURATION} is not this release's`);

  await core.patchNamespacedService({ name: INJECTOR_SERVICE, namespace, body: { spec: { type: 'ExternalName', externalName: '127.0.0.1', selector: null, clusterIP: '', clusterIPs: null } } }, merge);
  await admission.patchMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION, body: [{ op: 'replace', path: '/webhooks/0/clientConfig/service/port', value: localPort }] }, json);
  return async () => {
    await admission.patchMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION, body: [{ op: 'replace', path: '/webhooks/0/clientConfig/service/port', value: installedPort }] }, json);
    await core.patchNamespacedService({ name: INJECTOR_SERVICE, namespace, body: { spec: { type: installed.spec?.type ?? 'ClusterIP', externalName: null, selector: installed.spec?.selector ?? null } } }, merge);
  };
}
