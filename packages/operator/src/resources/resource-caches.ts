import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { createInformerCache, isNotFound, KubeApiError, requestOptions, type InformerCache, type WatchEndReason } from '@tsdapr/kube';
import type { Logger } from '@tsdapr/runtime';
import type { ResourceStore } from '../api/operator-api.js';
import { DAPR_GROUP } from '../crds/crd.js';
import { ChangeFeed } from './change-feed.js';
import { RESOURCE_TYPES, type DaprResource, type ResourceKind } from './dapr-resource.js';
import type { SecretReader } from './secret-resolution.js';

export interface ResourceCaches {
  readonly caches: ReadonlyArray<InformerCache<KubernetesObject>>;
  readonly stores: Readonly<Record<ResourceKind, ResourceStore>>;
  readonly feeds: { readonly Component: ChangeFeed; readonly Subscription: ChangeFeed; readonly HTTPEndpoint: ChangeFeed };
  /** Resolves once every cache has listed; seeds the feeds so the first list is not reported as news. */
  waitUntilReady(signal: AbortSignal): Promise<boolean>;
}

/** One informer cache per Dapr kind (cluster-wide or one namespace), each feeding its change feed. */
export function createResourceCaches(
  kubeConfig: KubeConfig,
  logger: Logger,
  watchNamespace?: string,
  /** Told of every watch that ended (and is restarted), for the watch-ends metric. */
  onWatchEnd?: (cache: string, reason: WatchEndReason) => void,
): ResourceCaches {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const feeds = { Component: new ChangeFeed(), Subscription: new ChangeFeed(), HTTPEndpoint: new ChangeFeed() };
  const byKind = {} as Record<ResourceKind, InformerCache<KubernetesObject>>;
  for (const type of Object.values(RESOURCE_TYPES)) {
    const { plural, version } = type;
    const path = watchNamespace ? `/apis/${DAPR_GROUP}/${version}/namespaces/${watchNamespace}/${plural}` : `/apis/${DAPR_GROUP}/${version}/${plural}`;
    const cache = createInformerCache<KubernetesObject>({
      kubeConfig,
      path,
      name: plural,
      logger,
      onWatchEnd: onWatchEnd && ((reason) => onWatchEnd(plural, reason)),
      list: async (signal) =>
        (watchNamespace
          ? await custom.listNamespacedCustomObject({ group: DAPR_GROUP, version, plural, namespace: watchNamespace }, requestOptions({ signal }))
          : await custom.listClusterCustomObject({ group: DAPR_GROUP, version, plural }, requestOptions({ signal }))) as KubernetesListObject<KubernetesObject>,
    });
    byKind[type.kind] = cache;
  }
  let seeded = false;
  for (const kind of ['Component', 'Subscription', 'HTTPEndpoint'] as const) {
    // Events before the first sync are the initial list: seed rather than report them.
    byKind[kind].onChange((event) => {
      if (seeded) feeds[kind].handle(event as { type: 'add' | 'update' | 'delete'; object: DaprResource });
      else feeds[kind].seed([event.object as DaprResource]);
    });
  }
  const store = (kind: ResourceKind): ResourceStore => ({
    list: (namespace) => byKind[kind].list(namespace) as DaprResource[],
    get: (namespace, name) => byKind[kind].get(namespace, name) as DaprResource | undefined,
  });
  return {
    caches: Object.values(byKind),
    stores: { Component: store('Component'), Configuration: store('Configuration'), Subscription: store('Subscription'), Resiliency: store('Resiliency'), HTTPEndpoint: store('HTTPEndpoint') },
    feeds,
    async waitUntilReady(signal) {
      const ready = await Promise.all(Object.values(byKind).map((cache) => cache.waitUntilReady(signal)));
      for (const kind of ['Component', 'Subscription', 'HTTPEndpoint'] as const) feeds[kind].seed(byKind[kind].list() as DaprResource[]);
      seeded = true;
      return ready.every(Boolean);
    },
  };
}

/** Reads Secrets straight from the API server when a resource needs one (no cluster-wide Secret cache). */
export function kubernetesSecretReader(kubeConfig: KubeConfig): SecretReader {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return async (namespace, name) => {
    try {
      const secret = await core.readNamespacedSecret({ namespace, name }, requestOptions({ timeoutMs: 10_000 }));
      return secret.data ?? {};
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw KubeApiError.from(err, `get secret ${namespace}/${name}`);
    }
  };
}
