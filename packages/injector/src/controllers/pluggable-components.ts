import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { createInformerCache, requestOptions, type InformerCache } from '@tsdapr/kube';
import type { Logger } from '@tsdapr/runtime';
import type { Container } from '../patch/pod-types.js';

/** The Component annotation holding a pluggable component's container, as JSON. */
export const COMPONENT_CONTAINER_ANNOTATION = 'dapr.io/component-container';

export interface Component extends KubernetesObject {
  scopes?: string[];
}

/**
 * Upstream's `patcher.Injectable`: the containers declared on Components
 * (`dapr.io/component-container`) that an app should get. A component
 * applies when it has no scopes or lists the app; an image is injected once;
 * a container without a name takes the component's. Malformed JSON is
 * reported through `onInvalid` and skipped.
 */
export function injectableContainers(appId: string, components: readonly Component[], onInvalid: (component: string, error: string) => void = () => undefined): Container[] {
  const out: Container[] = [];
  const images = new Set<string>();
  for (const component of components) {
    const raw = component.metadata?.annotations?.[COMPONENT_CONTAINER_ANNOTATION];
    if (!raw) continue;
    let container: unknown;
    try {
      container = JSON.parse(raw);
    } catch (err) {
      onInvalid(component.metadata?.name ?? '', (err as Error).message);
      continue;
    }
    if (typeof container !== 'object' || container === null || Array.isArray(container)) {
      onInvalid(component.metadata?.name ?? '', 'not a JSON object');
      continue;
    }
    const declared = (container as { image?: unknown }).image;
    const image = typeof declared === 'string' ? declared : '';
    if (images.has(image)) continue;
    const scopes = component.scopes ?? [];
    if (scopes.length > 0 && !scopes.includes(appId)) continue;
    images.add(image);
    const named = container as { name?: unknown };
    out.push({ ...(container), name: typeof named.name === 'string' && named.name !== '' ? named.name : (component.metadata?.name ?? '') });
  }
  return out;
}

/**
 * Components of all namespaces from an informer, so that
 * `dapr.io/inject-pluggable-components` is served from memory (upstream lists
 * Components on every such admission request).
 */
export function pluggableComponents(options: { kubeConfig: KubeConfig; logger: Logger }): { cache: InformerCache<Component>; containers: (appId: string, namespace: string) => Container[] } {
  const api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const cache = createInformerCache<Component>({
    kubeConfig: options.kubeConfig,
    name: 'components',
    path: '/apis/dapr.io/v1alpha1/components',
    list: async (signal) => (await api.listClusterCustomObject({ group: 'dapr.io', version: 'v1alpha1', plural: 'components' }, requestOptions({ signal }))) as KubernetesListObject<Component>,
    logger: options.logger,
    backoff: { initialMs: 1_000, maxMs: 300_000 },
  });
  return {
    cache,
    containers: (appId, namespace) =>
      injectableContainers(appId, cache.list(namespace), (component, error) => options.logger.warn({ component, namespace, error }, `cannot read ${COMPONENT_CONTAINER_ANNOTATION}; the component's container is not injected`)),
  };
}
