import { AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { KubeApiError, isNotFound, requestOptions } from '@tsdapr/kube';
import { bundleStatus } from './certificates.js';
import type { ClusterStatus, ComponentsInNamespace, ControlPlaneService, PlacementNamespace, PlacementStatus, PodWithoutSidecar, TrustStatus, WorkloadStatus } from './status-model.js';

export const TRUST_BUNDLE_NAME = 'dapr-trust-bundle';
export const PLACEMENT_LEASE_NAME = 'dapr-placement-leader';

/** The chart's workloads, by upstream name. */
export const CONTROL_PLANE_WORKLOADS: readonly { service: ControlPlaneService; kind: 'Deployment' | 'StatefulSet'; name: string }[] = [
  { service: 'sentry', kind: 'Deployment', name: 'dapr-sentry' },
  { service: 'operator', kind: 'Deployment', name: 'dapr-operator' },
  { service: 'placement', kind: 'StatefulSet', name: 'dapr-placement-server' },
  { service: 'injector', kind: 'Deployment', name: 'dapr-sidecar-injector' },
  { service: 'scheduler', kind: 'StatefulSet', name: 'dapr-scheduler-server' },
];

export interface CollectOptions {
  readonly controlPlaneNamespace: string;
  readonly expiryWarningWindowMs: number;
  readonly requestTimeoutMs: number;
  readonly now: Date;
}

/** Reads everything `tsdapr status` shows. A part that cannot be read becomes a note, never a failure of the whole. */
export async function collectStatus(kc: KubeConfig, options: CollectOptions): Promise<ClusterStatus> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const ns = options.controlPlaneNamespace;
  const req = (): ReturnType<typeof requestOptions> => requestOptions({ timeoutMs: options.requestTimeoutMs });

  const read = await Promise.all(CONTROL_PLANE_WORKLOADS.map((w) => readWorkload(apps, ns, w, req)));
  const { workloads, notes: workloadNotes } = expectedWorkloads(read.map((r) => r.status), read.find((r) => r.status.service === 'injector')?.args);
  const [trust, placement, components, pods] = await Promise.all([
    readTrust(core, ns, options, req),
    readPlacement(kc, core, apps, ns, req),
    readComponents(kc, req),
    readPodsWithoutSidecar(core, req),
  ]);
  return {
    controlPlaneNamespace: ns,
    generatedAt: options.now.toISOString(),
    workloads,
    workloadNotes,
    trust,
    placement,
    components: components.value,
    componentsNote: components.note,
    podsWithoutSidecar: pods.value,
    podsNote: pods.note,
  };
}

type Req = () => ReturnType<typeof requestOptions>;

async function readWorkload(apps: AppsV1Api, namespace: string, w: (typeof CONTROL_PLANE_WORKLOADS)[number], req: Req): Promise<{ status: WorkloadStatus; args: readonly string[] | undefined }> {
  try {
    const obj = w.kind === 'Deployment' ? await apps.readNamespacedDeployment({ name: w.name, namespace }, req()) : await apps.readNamespacedStatefulSet({ name: w.name, namespace }, req());
    const container = obj.spec?.template.spec?.containers[0];
    const image = container?.image;
    const replicas = obj.spec?.replicas ?? 1;
    const quorum = w.service === 'scheduler' ? etcdQuorum(container?.args ?? [], replicas) : undefined;
    return {
      status: {
        ...w,
        found: true,
        replicas,
        ready: obj.status?.readyReplicas ?? 0,
        updated: obj.status?.updatedReplicas ?? 0,
        version: image === undefined ? undefined : imageVersion(image),
        image,
        ...(quorum === undefined ? {} : { quorum }),
      },
      args: container?.args ?? [],
    };
  } catch (err) {
    if (!isNotFound(err)) throw KubeApiError.from(err, `get ${w.kind} ${namespace}/${w.name}`);
    return { status: { ...w, found: false, replicas: 0, ready: 0, updated: 0, version: undefined, image: undefined }, args: undefined };
  }
}

/** Upstream's boolean flag forms: `--name`, `--name=true|1|t`, `--name=false|0|f` (the last one given wins). */
function boolFlag(args: readonly string[], name: string): boolean | undefined {
  let value: boolean | undefined;
  for (const arg of args) {
    const match = new RegExp(`^--?${name}(?:=(.*))?$`).exec(arg);
    if (match) value = match[1] === undefined ? true : ['true', '1', 't'].includes(match[1].trim().toLowerCase());
  }
  return value;
}

/**
 * Ready replicas a scheduler with embedded etcd needs: a majority of its
 * members. Undefined with an external etcd (`--etcd-embed=false`), whose
 * quorum is not the scheduler's.
 */
export function etcdQuorum(args: readonly string[], replicas: number): number | undefined {
  if (boolFlag(args, 'etcd-embed') === false || replicas <= 0) return undefined;
  return Math.floor(replicas / 2) + 1;
}

/**
 * A scheduler is expected unless the injector is told there is none
 * (`--scheduler-enabled=false`, the chart's global.scheduler.enabled=false;
 * upstream's default is true): then its absence is a note, not a warning.
 * A scheduler that is installed is always shown.
 */
export function expectedWorkloads(workloads: readonly WorkloadStatus[], injectorArgs: readonly string[] | undefined): { workloads: WorkloadStatus[]; notes: string[] } {
  const scheduler = workloads.find((w) => w.service === 'scheduler');
  if (scheduler && !scheduler.found && injectorArgs !== undefined && boolFlag(injectorArgs, 'scheduler-enabled') === false) {
    return {
      workloads: workloads.filter((w) => w !== scheduler),
      notes: [`no scheduler: not installed, and the injector gives sidecars no scheduler address (--scheduler-enabled=false, the chart's global.scheduler.enabled=false)`],
    };
  }
  return { workloads: [...workloads], notes: [] };
}

/** `reg/tsdapr:1.2.3` → `1.2.3`; `reg/tsdapr@sha256:…` → the digest; no tag → `latest`. */
export function imageVersion(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1);
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return colon < 0 ? 'latest' : image.slice(colon + 1);
}

async function readTrust(core: CoreV1Api, namespace: string, options: CollectOptions, req: Req): Promise<TrustStatus> {
  const notes: string[] = [];
  let anchors: TrustStatus['anchors'] = [];
  let issuer: TrustStatus['issuer'];
  try {
    const cm = await core.readNamespacedConfigMap({ name: TRUST_BUNDLE_NAME, namespace }, req());
    const pem = cm.data?.['ca.crt'];
    if (pem) anchors = bundleStatus(pem, options.now, options.expiryWarningWindowMs);
    else notes.push(`ConfigMap ${namespace}/${TRUST_BUNDLE_NAME} has no ca.crt yet (sentry writes it at first start)`);
  } catch (err) {
    notes.push(unreadable(err, `ConfigMap ${namespace}/${TRUST_BUNDLE_NAME}`));
  }
  try {
    const secret = await core.readNamespacedSecret({ name: TRUST_BUNDLE_NAME, namespace }, req());
    const chain = secret.data?.['issuer.crt'];
    if (chain) issuer = bundleStatus(Buffer.from(chain, 'base64').toString('utf8'), options.now, options.expiryWarningWindowMs)[0];
    else notes.push(`Secret ${namespace}/${TRUST_BUNDLE_NAME} has no issuer.crt yet (sentry writes it at first start)`);
  } catch (err) {
    notes.push(unreadable(err, `Secret ${namespace}/${TRUST_BUNDLE_NAME}`));
  }
  return { anchors, issuer, notes };
}

async function readPlacement(kc: KubeConfig, core: CoreV1Api, apps: AppsV1Api, namespace: string, req: Req): Promise<PlacementStatus> {
  const notes: string[] = [];
  let leader: string | undefined;
  let leaseRenewed: string | undefined;
  try {
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: PLACEMENT_LEASE_NAME, namespace }, req());
    leader = lease.spec?.holderIdentity || undefined;
    const renew = lease.spec?.renewTime as unknown;
    leaseRenewed = renew instanceof Date ? renew.toISOString() : typeof renew === 'string' ? renew : undefined;
    if (!leader) notes.push(`Lease ${namespace}/${PLACEMENT_LEASE_NAME} has no holder: no placement leader`);
  } catch (err) {
    notes.push(unreadable(err, `Lease ${namespace}/${PLACEMENT_LEASE_NAME}`));
  }

  // Members per namespace: placement's /placement/state, served by the leader
  // on its health port only with --metadata-enabled. From outside the cluster
  // it is reached through the API server's pod proxy.
  let namespaces: PlacementNamespace[] | undefined;
  let container: V1Container | undefined;
  try {
    container = (await apps.readNamespacedStatefulSet({ name: 'dapr-placement-server', namespace }, req())).spec?.template.spec?.containers[0];
  } catch (err) {
    if (!isNotFound(err)) notes.push(unreadable(err, `StatefulSet ${namespace}/dapr-placement-server`));
  }
  const args = container?.args ?? [];
  const metadataEnabled = args.some((a) => a === '--metadata-enabled' || a === '--metadata-enabled=true') || container?.env?.some((e) => e.name === 'DAPR_PLACEMENT_METADATA_ENABLED' && e.value === 'true');
  const healthzPort = Number(args.find((a) => a.startsWith('--healthz-port='))?.split('=')[1] ?? 8080);
  if (!container) {
    notes.push('members per namespace: no placement StatefulSet');
  } else if (!metadataEnabled) {
    notes.push('members per namespace: placement does not serve /placement/state (install with dapr_placement.metadataEnabled=true)');
  } else if (!leader) {
    notes.push('members per namespace: no leader to ask');
  } else {
    try {
      const body = await core.connectGetNamespacedPodProxyWithPath({ name: `${leader}:${healthzPort}`, namespace, path: 'placement/state' }, req());
      namespaces = parsePlacementState(typeof body === 'string' ? body : JSON.stringify(body));
    } catch (err) {
      notes.push(`members per namespace: /placement/state of ${leader} is not reachable through the API server's pod proxy (${KubeApiError.from(err, 'proxy').message.replace(/^proxy: /, '')})`);
    }
  }
  return { leader, leaseRenewed, namespaces, notes };
}

/** `/placement/state` (upstream's JSON of StatePlacementTables) to members per namespace. */
export function parsePlacementState(text: string): PlacementNamespace[] {
  const parsed = JSON.parse(text) as { tables?: Record<string, { hosts?: unknown[]; version?: number }> };
  return Object.entries(parsed.tables ?? {})
    .map(([namespace, table]) => ({ namespace, members: table.hosts?.length ?? 0, version: table.version }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace));
}

interface ComponentObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { type?: string };
}

async function readComponents(kc: KubeConfig, req: Req): Promise<{ value: ComponentsInNamespace[] | undefined; note: string | undefined }> {
  try {
    const list = (await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: 'dapr.io', version: 'v1alpha1', plural: 'components' }, req())) as { items?: ComponentObject[] };
    return { value: groupComponents(list.items ?? []), note: undefined };
  } catch (err) {
    if (isNotFound(err)) return { value: undefined, note: 'the components.dapr.io CRD is not installed' };
    return { value: undefined, note: unreadable(err, 'components.dapr.io') };
  }
}

export function groupComponents(items: readonly ComponentObject[]): ComponentsInNamespace[] {
  const byNamespace = new Map<string, { name: string; type: string }[]>();
  for (const item of items) {
    const namespace = item.metadata?.namespace ?? '';
    const list = byNamespace.get(namespace) ?? [];
    list.push({ name: item.metadata?.name ?? '', type: item.spec?.type ?? '' });
    byNamespace.set(namespace, list);
  }
  return [...byNamespace.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([namespace, components]) => ({ namespace, components: components.sort((a, b) => a.name.localeCompare(b.name)) }));
}

async function readPodsWithoutSidecar(core: CoreV1Api, req: Req): Promise<{ value: PodWithoutSidecar[] | undefined; note: string | undefined }> {
  try {
    const pods = await core.listPodForAllNamespaces({}, req());
    return { value: podsWithoutSidecar(pods.items), note: undefined };
  } catch (err) {
    return { value: undefined, note: unreadable(err, 'pods in all namespaces') };
  }
}

/** Upstream's truthy annotation values (utils.IsTruthy). */
function isTruthy(value: string | undefined): boolean {
  return ['y', 'yes', 'true', 't', 'on', '1'].includes((value ?? '').trim().toLowerCase());
}

/** Pods annotated `dapr.io/enabled: "true"` (or another truthy value) without a `daprd` container (regular or native sidecar). */
export function podsWithoutSidecar(pods: readonly V1Pod[]): PodWithoutSidecar[] {
  return pods
    .filter((pod) => isTruthy(pod.metadata?.annotations?.['dapr.io/enabled']))
    .filter((pod) => ![...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) => c.name === 'daprd'))
    .map((pod) => ({ namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', phase: pod.status?.phase ?? 'Unknown' }))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

function unreadable(err: unknown, what: string): string {
  if (isNotFound(err)) return `${what} does not exist`;
  return `${what} cannot be read: ${KubeApiError.from(err, 'read').message.replace(/^read: /, '')}`;
}
