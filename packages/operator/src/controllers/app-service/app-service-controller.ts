import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Service, type V1StatefulSet } from '@kubernetes/client-node';
import { createInformerCache, isNotFound, KubeApiError, requestOptions, type InformerCache } from '@tsdapr/kube';
import type { Logger, Runner } from '@tsdapr/runtime';
import type { OperatorMetrics } from '../../metrics.js';
import { WorkQueue, type ReconcileResult } from '../work-queue.js';
import { desiredService, serviceMatches, type Workload, type WorkloadKind } from './desired-service.js';

export const CONTROLLER_NAME = 'app-service';

/** The Service calls a reconcile makes; the real API or a recording fake. */
export interface ServiceApi {
  read(namespace: string, name: string): Promise<V1Service | undefined>;
  create(service: V1Service): Promise<void>;
  replace(service: V1Service): Promise<void>;
}

export interface AppServiceReconcilerDeps {
  readonly workload: (kind: WorkloadKind, namespace: string, name: string) => Workload | undefined;
  readonly services: ServiceApi;
  readonly metrics: Pick<OperatorMetrics, 'serviceCreated' | 'serviceUpdated'>;
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
 * reference); not Dapr-enabled: nothing; otherwise creates the Service or
 * replaces it when it differs from the desired one.
 */
export function appServiceReconciler(deps: AppServiceReconcilerDeps): (key: string) => Promise<ReconcileResult> {
  return async (key) => {
    const { kind, namespace, name } = parseKey(key);
    const workload = deps.workload(kind, namespace, name);
    if (!workload || (workload.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp) return undefined;
    const desired = desiredService(kind, workload);
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
  };
}

export interface AppServiceController {
  readonly runners: Runner[];
  /** App ids of Dapr-enabled workloads in a namespace, from the caches. */
  appIds(namespace: string): Set<string>;
}

/**
 * Deployments and StatefulSets caches feed one work queue of keys. The caches
 * hold every workload (an annotation on the pod template cannot be selected
 * by the API server); only Dapr-enabled ones are ever queued.
 */
export function createAppServiceController(options: { kubeConfig: KubeConfig; metrics: OperatorMetrics; logger: Logger; workers: number; watchNamespace?: string | undefined }): AppServiceController {
  const logger = options.logger.child({ controller: CONTROLLER_NAME });
  const apps = options.kubeConfig.makeApiClient(AppsV1Api);
  const ns = options.watchNamespace;
  const deployments: InformerCache<V1Deployment> = createInformerCache<V1Deployment>({
    kubeConfig: options.kubeConfig,
    name: 'deployments',
    logger,
    path: ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : '/apis/apps/v1/deployments',
    list: (signal) => (ns ? apps.listNamespacedDeployment({ namespace: ns }, requestOptions({ signal })) : apps.listDeploymentForAllNamespaces({}, requestOptions({ signal }))),
  });
  const statefulSets: InformerCache<V1StatefulSet> = createInformerCache<V1StatefulSet>({
    kubeConfig: options.kubeConfig,
    name: 'statefulsets',
    logger,
    path: ns ? `/apis/apps/v1/namespaces/${ns}/statefulsets` : '/apis/apps/v1/statefulsets',
    list: (signal) => (ns ? apps.listNamespacedStatefulSet({ namespace: ns }, requestOptions({ signal })) : apps.listStatefulSetForAllNamespaces({}, requestOptions({ signal }))),
  });
  const reconcile = appServiceReconciler({
    workload: (kind, namespace, name) => (kind === 'Deployment' ? deployments.get(namespace, name) : statefulSets.get(namespace, name)),
    services: kubernetesServiceApi(options.kubeConfig),
    metrics: options.metrics,
    logger,
  });
  const queue = new WorkQueue({ name: CONTROLLER_NAME, reconcile, workers: options.workers, logger, onError: (_key, code) => options.metrics.reconcileErrors.inc({ controller: CONTROLLER_NAME, code }) });
  const enqueue = (kind: WorkloadKind) => (event: { type: string; object: Workload }) => {
    if (event.type === 'delete') return;
    const annotations = event.object.spec?.template?.metadata?.annotations;
    if (!annotations?.['dapr.io/enabled']) return;
    queue.add(workloadKey(kind, event.object.metadata?.namespace ?? '', event.object.metadata?.name ?? ''));
  };
  deployments.onChange(enqueue('Deployment'));
  statefulSets.onChange(enqueue('StatefulSet'));
  const workers: Runner = async (signal) => {
    await Promise.all([deployments.waitUntilReady(signal), statefulSets.waitUntilReady(signal)]);
    await queue.runner(signal);
  };
  const appIds = (namespace: string): Set<string> => {
    const ids = new Set<string>();
    for (const workload of [...deployments.list(namespace), ...statefulSets.list(namespace)]) {
      const annotations = workload.spec?.template.metadata?.annotations ?? {};
      const id = annotations['dapr.io/app-id'];
      if (id && annotations['dapr.io/enabled']) ids.add(id);
    }
    return ids;
  };
  return { runners: [deployments.runner, statefulSets.runner, workers], appIds };
}
