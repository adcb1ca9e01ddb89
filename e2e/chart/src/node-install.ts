import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubernetesObjectApi, type KubeConfig, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { buildImages, pollUntil, repoRoot, startCluster, startNode, type Cluster, type Node } from '@tsdapr/e2e-harness';
import yaml from 'js-yaml';
import { chartDir, helmOk, valuesFile } from './helm.js';

/**
 * The chart installed as a user installs it, on a cluster with a real node
 * (kubelet + containerd): images built here from the repository's Dockerfile,
 * upstream daprd as the sidecar image, the sample apps of samples/apps.
 * Shared by the real-pod tests and `bash scripts/dev.sh start`.
 */
export const RELEASE = 'tsdapr';
export const CONTROL_PLANE_NAMESPACE = 'dapr-system';
export const TSDAPR_TAG = 'dev';
/** The images a node install needs, by the names scripts/build-images.sh knows. */
export const NODE_IMAGES = ['pause', 'tsdapr', 'daprd-1.17', 'daprd-1.18', 'sample-app'] as const;

export interface NodeCluster {
  readonly cluster: Cluster;
  readonly node: Node;
  readonly kc: KubeConfig;
  stop(): Promise<void>;
}

/** A cluster, its node, and every image imported into the node's containerd; `lockWaitMs` as startNode's. */
export async function startNodeCluster(options: { readonly dataDir?: string; readonly lockWaitMs?: number } = {}): Promise<NodeCluster> {
  const images = await buildImages(NODE_IMAGES);
  const pause = images.find((image) => image.name === 'pause');
  if (!pause) throw new Error('buildImages returned no pause image');
  const cluster = await startCluster(options.dataDir ? { dataDir: options.dataDir } : {});
  let node: Node | undefined;
  try {
    node = await startNode(cluster, { sandboxImage: pause.ref, images: images.map((image) => image.archive), lockWaitMs: options.lockWaitMs ?? 0 });
    await makeHostPathVolumes(cluster.kubeConfig(), node, 3);
  } catch (err) {
    await node?.stop();
    await cluster.stop();
    throw err;
  }
  const started = node;
  return {
    cluster,
    node: started,
    kc: cluster.kubeConfig(),
    stop: async () => {
      await started.stop();
      await cluster.stop();
    },
  };
}

/**
 * The chart's values for this node: the locally built images (present in
 * containerd, so `IfNotPresent` never pulls), and data volumes from the
 * hostPath PersistentVolumes made by startNodeCluster (no StorageClass here).
 */
export function nodeValues(overrides: { readonly tag?: string; readonly daprdTag?: string; readonly schedulerReplicas?: number } = {}): Record<string, unknown> {
  return {
    global: { registry: 'localhost/tsdapr', tag: overrides.tag ?? TSDAPR_TAG, imagePullPolicy: 'IfNotPresent' },
    dapr_sidecar_injector: { image: { registry: 'localhost/tsdapr', name: 'daprd', tag: overrides.daprdTag ?? '1.17.5' } },
    dapr_scheduler: { replicaCount: overrides.schedulerReplicas ?? 1, cluster: { storageSize: '1Gi' } },
  };
}

/** `helm install` (or upgrade with `upgrade: true`) into dapr-system on the node cluster. */
export async function installChart(cluster: Cluster, values: Record<string, unknown>, options: { readonly upgrade?: boolean } = {}): Promise<string> {
  const file = valuesFile(values);
  try {
    const verb = options.upgrade ? ['upgrade', RELEASE, chartDir()] : ['install', RELEASE, chartDir(), '--create-namespace'];
    return await helmOk([...verb, '--namespace', CONTROL_PLANE_NAMESPACE, '--kubeconfig', cluster.kubeconfigPath, '-f', file.path, '--timeout', '5m'], { timeoutMs: 360_000 });
  } finally {
    file.cleanup();
  }
}

/**
 * Waits until every workload in the namespace has all its replicas updated
 * and Ready (the pods' own readiness probes decide). On timeout, the error
 * lists each pod that is not Ready with its containers' states.
 */
export async function waitForWorkloads(kc: KubeConfig, namespace: string, timeoutMs = 240_000): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  await pollUntil(
    `every Deployment and StatefulSet in ${namespace} rolled out and Ready`,
    async () => {
      const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
      const statefulSets = (await apps.listNamespacedStatefulSet({ namespace })).items;
      const waiting: string[] = [];
      for (const d of deployments) {
        const want = d.spec?.replicas ?? 1;
        const s = d.status;
        if ((s?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0) || s?.updatedReplicas !== want || s?.readyReplicas !== want || (s?.replicas ?? 0) !== want) waiting.push(`deployment/${d.metadata?.name}`);
      }
      for (const st of statefulSets) {
        const want = st.spec?.replicas ?? 1;
        const s = st.status;
        if ((s?.observedGeneration ?? 0) < (st.metadata?.generation ?? 0) || s?.updatedReplicas !== want || s?.readyReplicas !== want || s?.currentRevision !== s?.updateRevision) waiting.push(`statefulset/${st.metadata?.name}`);
      }
      if (waiting.length === 0) return true;
      const pods = (await core.listNamespacedPod({ namespace })).items.filter((pod) => !isReady(pod));
      throw new Error(`waiting for ${waiting.join(', ')}; pods not Ready: ${pods.map(describePod).join('; ') || 'none'}`);
    },
    { timeoutMs, intervalMs: 1_000 },
  );
}

export function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && !pod.metadata?.deletionTimestamp;
}

/** `name (phase): container=state...` for error messages. */
export function describePod(pod: V1Pod): string {
  const containers = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((c) => {
    const state = c.state?.waiting ? `waiting ${c.state.waiting.reason ?? ''} ${c.state.waiting.message ?? ''}` : c.state?.terminated ? `terminated ${c.state.terminated.reason ?? ''} ${c.state.terminated.exitCode}` : c.ready ? 'ready' : 'running, not ready';
    return `${c.name}=${state.trim()} (restarts ${c.restartCount})`;
  });
  return `${pod.metadata?.name} (${pod.status?.phase ?? 'no phase'}): ${containers.join(', ') || 'no container status'}`;
}

/** Applies every document of a YAML file (create, or patch what exists), in `namespace`. */
export async function applyManifest(kc: KubeConfig, path: string, namespace: string): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const doc of yaml.loadAll(readFileSync(path, 'utf8'))) {
    if (!doc || typeof doc !== 'object') continue;
    const object = doc as KubernetesObject & { metadata: { name: string; namespace?: string } };
    object.metadata.namespace = namespace;
    try {
      await client.create(object);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      await client.patch(object, undefined, undefined, 'tsdapr-tests', true, 'application/apply-patch+yaml');
    }
  }
}

/** samples/apps/k8s/<file> */
export function sampleManifest(file: string): string {
  return join(repoRoot(), 'samples', 'apps', 'k8s', file);
}

/**
 * `count` hostPath PersistentVolumes without a StorageClass, so that the
 * scheduler's volumeClaimTemplates bind. The directories are world-writable,
 * as a local-path provisioner makes them: hostPath ignores fsGroup, and the
 * scheduler runs as 65532.
 */
async function makeHostPathVolumes(kc: KubeConfig, node: Node, count: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < count; i++) {
    const path = join(node.stateDir, 'volumes', `pv-${i}`);
    mkdirSync(path, { recursive: true });
    chmodSync(path, 0o777);
    await core.createPersistentVolume({
      body: {
        metadata: { name: `hostpath-${i}` },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          hostPath: { path, type: 'Directory' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node.name] }] }] } },
        },
      },
    });
  }
}
