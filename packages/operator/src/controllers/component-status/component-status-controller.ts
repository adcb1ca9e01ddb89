import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { isNotFound, requestOptions } from '@tsdapr/kube';
import type { Logger, Runner } from '@tsdapr/runtime';
import type { ResourceStore } from '../../api/operator-api.js';
import { DAPR_GROUP } from '../../crds/crd.js';
import type { OperatorMetrics } from '../../metrics.js';
import type { DaprResource } from '../../resources/dapr-resource.js';
import type { ChangeFeed } from '../../resources/change-feed.js';
import { validateComponentInCluster, type ClusterFacts } from '../../webhooks/component-validation.js';
import { WorkQueue, type ReconcileResult } from '../work-queue.js';
import { desiredComponentStatus, statusMatches, type ComponentStatus } from './component-status.js';

export const CONTROLLER_NAME = 'component-status';
/** A missing Secret is not watched: look again this often until it exists. */
const MISSING_SECRET_RECHECK_MS = 30_000;

export interface ComponentStatusDeps {
  readonly component: (namespace: string, name: string) => DaprResource | undefined;
  readonly facts: ClusterFacts;
  readonly runningAppIds: (namespace: string) => ReadonlySet<string>;
  /** Writes the status subresource. */
  readonly writeStatus: (namespace: string, name: string, status: ComponentStatus) => Promise<void>;
  readonly now?: () => Date;
  readonly logger: Logger;
}

export const componentKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * Level-triggered: reads the Component from the cache (gone: nothing),
 * computes its status from the webhook's validation and the running
 * workloads, and writes it only when it differs from the stored one.
 */
export function componentStatusReconciler(deps: ComponentStatusDeps): (key: string) => Promise<ReconcileResult> {
  return async (key) => {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const component = deps.component(namespace, name);
    if (!component || (component.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp) return undefined;
    const validation = await validateComponentInCluster(component, namespace, deps.facts);
    const desired = desiredComponentStatus(component, { validation, runningAppIds: deps.runningAppIds(namespace) }, deps.now?.() ?? new Date());
    const recheck = !validation.secretsChecked || validation.warnings.some((w) => w.includes('secretKeyRef')) ? { requeueAfterMs: MISSING_SECRET_RECHECK_MS } : undefined;
    if (statusMatches(component, desired)) return recheck;
    await deps.writeStatus(namespace, name, desired);
    deps.logger.debug({ component: key, conditions: desired.conditions.map((c) => `${c.type}=${c.status}`) }, 'component status written');
    return recheck;
  };
}

export function kubernetesComponentStatusWriter(kubeConfig: KubeConfig): ComponentStatusDeps['writeStatus'] {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  return async (namespace, name, status) => {
    try {
      await custom.patchNamespacedCustomObjectStatus(
        { group: DAPR_GROUP, version: 'v1alpha1', plural: 'components', namespace, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch, requestOptions({ timeoutMs: 10_000 })),
      );
    } catch (err) {
      // Deleted since it was read from the cache: nothing to write.
      if (!isNotFound(err)) throw err;
    }
  };
}

export interface ComponentStatusControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly components: ResourceStore;
  readonly feed: ChangeFeed;
  readonly facts: ClusterFacts;
  readonly runningAppIds: (namespace: string) => ReadonlySet<string>;
  /** Subscribes to workload changes by namespace; returns an unsubscribe function. */
  readonly onWorkloadChange: (listener: (namespace: string) => void) => () => void;
  /** Resolves true once the caches it reads have listed. */
  readonly waitUntilReady: (signal: AbortSignal) => Promise<boolean>;
  /**
   * Every Component is queued again this often. Secrets are not watched (a
   * cache of every Secret would grow with the cluster), so a Secret created
   * or deleted after a check shows in the status within this period.
   */
  readonly resyncMs: number;
  readonly metrics: OperatorMetrics;
  readonly logger: Logger;
  readonly workers?: number;
}

/**
 * The Component status writer (a writer: the leader runs it). Queues a
 * Component when it changes, every Component of a namespace when a workload
 * there changes, and every Component once its caches are ready and then every
 * `resyncMs`.
 */
export function componentStatusController(options: ComponentStatusControllerOptions): Runner {
  const logger = options.logger.child({ controller: CONTROLLER_NAME });
  const reconcile = componentStatusReconciler({
    component: (namespace, name) => options.components.get(namespace, name),
    facts: options.facts,
    runningAppIds: options.runningAppIds,
    writeStatus: kubernetesComponentStatusWriter(options.kubeConfig),
    logger,
  });
  const queue = new WorkQueue({ name: CONTROLLER_NAME, reconcile, workers: options.workers ?? 2, logger, onError: (_key, code) => options.metrics.reconcileErrors.inc({ controller: CONTROLLER_NAME, code }) });
  const queueNamespace = (namespace: string): void => {
    for (const component of options.components.list(namespace)) queue.add(componentKey(namespace, component.metadata?.name ?? ''));
  };
  return async (signal) => {
    const unsubscribeFeed = options.feed.subscribe((change) => {
      if (change.type !== 'DELETED') queue.add(componentKey(change.current.metadata?.namespace ?? '', change.current.metadata?.name ?? ''));
    });
    const unsubscribeWorkloads = options.onWorkloadChange(queueNamespace);
    let resync: ReturnType<typeof setInterval> | undefined;
    try {
      if (!(await options.waitUntilReady(signal))) return;
      const queueAll = (): void => {
        for (const component of options.components.list()) queue.add(componentKey(component.metadata?.namespace ?? '', component.metadata?.name ?? ''));
      };
      queueAll();
      resync = setInterval(queueAll, options.resyncMs);
      await queue.runner(signal);
    } finally {
      clearInterval(resync);
      unsubscribeFeed();
      unsubscribeWorkloads();
    }
  };
}
