import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Service, type V1StatefulSet } from '@kubernetes/client-node';
import { createInformerCache, isNotFound, KubeApiError, requestOptions, stripManagedFields, type InformerCache } from '@tsdapr/kube';
import type { Logger, Runner } from '@tsdapr/runtime';
import type { OperatorMetrics } from '../../metrics.js';
import { WorkQueue, type ReconcileResult } from '../work-queue.js';
import { APP_ID, DAPR_ENABLED, desiredService, isTruthy, serviceMatches, type Workload, type WorkloadKind } from './desired-service.js';

export const CONTROLLER_NAME = 'app-service';

/** The Service calls a reconcile makes; the real API or a recording fake. */
export interface ServiceApi {
  read(namespace: string, name: string): Promise<V1Service | undefined>;
  create(service: V1Service): Promise<void>;
  replace(service: V1Service): Promise<void>;
  /**
   * Deletes the Service only if it is still the object with `uid`. True when
   * this call deleted it; false when it was already gone (404): the cache can
   * still list a Service whose deletion it has not yet seen.
   */
  delete(namespace: string, name: string, uid: string): Promise<boolean>;
}

export interface AppServiceReconcilerDeps {
  readonly workload: (kind: WorkloadKind, namespace: string, name: string) => Workload | undefined;
  readonly services: ServiceApi;
  /** Dapr Services (label `dapr.io/enabled`) in a namespace whose controller is the workload with `uid`. */
  readonly ownedServices: (namespace: string, uid: string) => V1Service[];
  readonly metrics: Pick<OperatorMetrics, 'serviceCreated' | 'serviceUpdated' | 'serviceDeleted'>;
  readonly logger: Logger;
}

export const workloadKey = (kind: WorkloadKind, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

function parseKey(key: string): { kind: WorkloadKind; namespace: string; name: string } {
  const [kind, namespace = '', name = ''] = key.split('/');
  if (kind !== 'Deployment' && kind !== 'StatefulSet') throw new Error(`unexpected key ${key}`);
  return { kind, namespace, name };
}

/**
 * Level-triggered: reads the workload from the cache; absent or being
 * deleted: nothing (garbage collection removes the Service through its owner
 * reference). Beyond upstream, which leaves them behind: a Dapr Service the
 * workload controls but should not have (it is no longer Dapr-enabled, or its
 * app id changed) is deleted. Then creates the Service or replaces it when it
 * differs from the desired one.
 */
export function appServiceReconciler(deps: AppServiceReconcilerDeps): (key: string) => Promise<ReconcileResult> {
  return async (key) => {
    const { kind, namespace, name } = parseKey(key);
    const workload = deps.workload(kind, namespace, name);
    if (!workload || (workload.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp) return undefined;
    const desired = desiredService(kind, workload);
    for (const stale of deps.ownedServices(namespace, workload.metadata?.uid ?? '')) {
      if (stale.metadata?.name === desired?.metadata?.name) continue;
      // A second reconcile (the Deployment's status written meanwhile) can run
      // before the Services cache sees the deletion: its 404 is not a delete.
      if (!(await deps.services.delete(namespace, stale.metadata?.name ?? '', stale.metadata?.uid ?? ''))) continue;
      deps.metrics.serviceDeleted.inc({ app_id: stale.metadata?.annotations?.[APP_ID] ?? '' });
      deps.logger.info({ service: `${namespace}/${stale.metadata?.name}`, workload: key }, desired ? 'deleted the Dapr Service of a former app id' : 'deleted the Dapr Service of a workload no longer Dapr-enabled');
    }
    if (!desired) return undefined;
    const serviceName = desired.metadata?.name ?? '';
    const appId = desired.metadata?.annotations?.['dapr.io/app-id'] ?? '';
    const existing = await deps.services.read(namespace, serviceName);
    if (!existing) {
      await deps.services.create(desired);
      deps.metrics.serviceCreated.inc({ app_id: appId });
      deps.logger.info({ service: `${namespace}/${serviceName}`, workload: key }, 'created the Dapr Service');
      return undefined;
    }
    if (serviceMatches(existing, desired)) return undefined;
    // Keep what the API server owns (clusterIPs, resourceVersion); replace the rest.
    await deps.services.replace({
      ...existing,
      metadata: { ...existing.metadata, labels: { ...existing.metadata?.labels, ...desired.metadata?.labels }, annotations: desired.metadata?.annotations ?? {}, ownerReferences: desired.metadata?.ownerReferences ?? [] },
      spec: { ...existing.spec, selector: desired.spec?.selector ?? {}, ports: desired.spec?.ports ?? [], clusterIP: 'None' },
    });
    deps.metrics.serviceUpdated.inc({ app_id: appId });
    deps.logger.info({ service: `${namespace}/${serviceName}`, workload: key }, 'updated the Dapr Service');
    return undefined;
  };
}

export function kubernetesServiceApi(kubeConfig: KubeConfig): ServiceApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  // A fresh timeout per call: one made here would expire 10 s after start
  // and abort every later request.
  const options = (): ReturnType<typeof requestOptions> => requestOptions({ timeoutMs: 10_000 });
  return {
    read: async (namespace, name) => {
      try {
        return await core.readNamespacedService({ namespace, name }, options());
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw KubeApiError.from(err, `get service ${namespace}/${name}`);
      }
    },
    create: async (service) => {
      await core.createNamespacedService({ namespace: service.metadata?.namespace ?? '', body: service }, options());
    },
    replace: async (service) => {
      await core.replaceNamespacedService({ namespace: service.metadata?.namespace ?? '', name: service.metadata?.name ?? '', body: service }, options());
    },
    delete: async (namespace, name, uid) => {
      try {
        await core.deleteNamespacedService({ namespace, name, body: { preconditions: { uid } } }, options());
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
  };
}

export interface AppServiceController {
  /** The workload and Dapr Service caches: read-only, run on every replica. */
  readonly caches: Runner[];
  /** The Service reconciler: writes, so it runs on the leader only. */
  readonly reconciler: Runner;
  waitUntilReady(signal: AbortSignal): Promise<boolean>;
  /** App ids of Dapr-enabled workloads in a namespace, from the caches; `running`: only those scaled above zero. */
  appIds(namespace: string, filter?: { running: boolean }): Set<string>;
  /** Called with the namespace of every workload add, update and delete; returns an unsubscribe function. */
  onWorkloadChange(listener: (namespace: string) => void): () => void;
}

const appIdOf = (workload: Workload): string | undefined => {
  const annotations = workload.spec?.template?.metadata?.annotations ?? {};
  return isTruthy(annotations[DAPR_ENABLED]) ? annotations[APP_ID] || undefined : undefined;
};

/**
 * Deployments and StatefulSets caches feed one work queue of keys. The caches
 * hold every workload (an annotation on the pod template cannot be selected
 * by the API server); only Dapr-enabled ones, and the owners of Dapr Services
 * (a cache selected by the `dapr.io/enabled` label), are ever queued.
 */
export function createAppServiceController(options: { kubeConfig: KubeConfig; metrics: OperatorMetrics; logger: Logger; workers: number; watchNamespace?: string | undefined }): AppServiceController {
  const logger = options.logger.child({ controller: CONTROLLER_NAME });
  const apps = options.kubeConfig.makeApiClient(AppsV1Api);
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const ns = options.watchNamespace;
  // One namespace or all: the path and list call differ only in that.
  const cache = <T extends Workload | V1Service>(
    name: string,
    collection: string,
    list: { namespaced: (namespace: string, signal: AbortSignal) => Promise<{ items: T[] }>; all: (signal: AbortSignal) => Promise<{ items: T[] }> },
    labelSelector?: string,
  ): InformerCache<T> =>
    createInformerCache<T>({
      kubeConfig: options.kubeConfig,
      name,
      logger,
      transform: stripManagedFields,
      onWatchEnd: (reason) => options.metrics.watchEnds.inc({ cache: name, reason }),
      ...(labelSelector ? { labelSelector } : {}),
      path: ns ? collection.replace(/\/([a-z]+)$/, `/namespaces/${ns}/$1`) : collection,
      list: (signal) => (ns ? list.namespaced(ns, signal) : list.all(signal)),
    });
  const deployments = cache<V1Deployment>('deployments', '/apis/apps/v1/deployments', {
    namespaced: (namespace, signal) => apps.listNamespacedDeployment({ namespace }, requestOptions({ signal })),
    all: (signal) => apps.listDeploymentForAllNamespaces({}, requestOptions({ signal })),
  });
  const statefulSets = cache<V1StatefulSet>('statefulsets', '/apis/apps/v1/statefulsets', {
    namespaced: (namespace, signal) => apps.listNamespacedStatefulSet({ namespace }, requestOptions({ signal })),
    all: (signal) => apps.listStatefulSetForAllNamespaces({}, requestOptions({ signal })),
  });
  const labelSelector = `${DAPR_ENABLED}=true`;
  const daprServices = cache<V1Service>(
    'dapr-services',
    '/api/v1/services',
    {
      namespaced: (namespace, signal) => core.listNamespacedService({ namespace, labelSelector }, requestOptions({ signal })),
      all: (signal) => core.listServiceForAllNamespaces({ labelSelector }, requestOptions({ signal })),
    },
    labelSelector,
  );
  const controllerOf = (service: V1Service): { kind: string; uid: string; name: string } | undefined => {
    const owner = service.metadata?.ownerReferences?.find((o) => o.controller);
    return owner && (owner.kind === 'Deployment' || owner.kind === 'StatefulSet') && owner.apiVersion === 'apps/v1' ? owner : undefined;
  };
  const reconcile = appServiceReconciler({
    workload: (kind, namespace, name) => (kind === 'Deployment' ? deployments.get(namespace, name) : statefulSets.get(namespace, name)),
    services: kubernetesServiceApi(options.kubeConfig),
    ownedServices: (namespace, uid) => daprServices.list(namespace).filter((service) => controllerOf(service)?.uid === uid),
    metrics: options.metrics,
    logger,
  });
  const queue = new WorkQueue({ name: CONTROLLER_NAME, reconcile, workers: options.workers, logger, onError: (_key, code) => options.metrics.reconcileErrors.inc({ controller: CONTROLLER_NAME, code }) });
  const listeners = new Set<(namespace: string) => void>();
  const enqueue = (kind: WorkloadKind) => (event: { type: string; object: Workload }) => {
    const namespace = event.object.metadata?.namespace ?? '';
    for (const listener of listeners) listener(namespace);
    if (event.type === 'delete') return;
    const annotations = event.object.spec?.template?.metadata?.annotations;
    const name = event.object.metadata?.name ?? '';
    // A workload no longer Dapr-enabled is queued while it still controls a Dapr Service.
    const ownsDaprService = (): boolean => daprServices.list(namespace).some((service) => controllerOf(service)?.uid === event.object.metadata?.uid);
    if (!annotations?.[DAPR_ENABLED] && !ownsDaprService()) return;
    queue.add(workloadKey(kind, namespace, name));
  };
  deployments.onChange(enqueue('Deployment'));
  statefulSets.onChange(enqueue('StatefulSet'));
  // A Dapr Service (re)appearing queues its workload: at start this finds
  // Services left over while the operator was down.
  daprServices.onChange((event) => {
    const owner = controllerOf(event.object);
    if (event.type === 'delete' || !owner) return;
    queue.add(workloadKey(owner.kind as WorkloadKind, event.object.metadata?.namespace ?? '', owner.name));
  });
  const waitUntilReady = async (signal: AbortSignal): Promise<boolean> => (await Promise.all([deployments.waitUntilReady(signal), statefulSets.waitUntilReady(signal), daprServices.waitUntilReady(signal)])).every(Boolean);
  const reconciler: Runner = async (signal) => {
    if (!(await waitUntilReady(signal))) return;
    await queue.runner(signal);
  };
  const appIds = (namespace: string, filter?: { running: boolean }): Set<string> => {
    const ids = new Set<string>();
    for (const workload of [...deployments.list(namespace), ...statefulSets.list(namespace)]) {
      const id = appIdOf(workload);
      // No kubelet or ready count is needed: scaled above zero is "runs".
      if (id && (!filter?.running || (workload.spec?.replicas ?? 1) > 0)) ids.add(id);
    }
    return ids;
  };
  return {
    caches: [deployments.runner, statefulSets.runner, daprServices.runner],
    reconciler,
    waitUntilReady,
    appIds,
    onWorkloadChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
