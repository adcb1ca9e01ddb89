import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { createInformerCache, requestOptions, type InformerCache } from '@tsdapr/kube';
import type { Logger } from '@tsdapr/runtime';

/** The Configuration whose `spec.mtls.enabled` decides `--enable-mtls` (upstream's `daprsystem`). */
export const SYSTEM_CONFIGURATION = 'daprsystem';

interface Configuration extends KubernetesObject {
  spec?: { mtls?: { enabled?: boolean } };
}

export interface MtlsSetting {
  /** True unless `daprsystem` exists and sets `spec.mtls.enabled: false` (upstream's default when missing or unreadable). */
  enabled(): boolean;
  readonly cache: InformerCache<Configuration>;
}

/**
 * Watches the Configurations of the control-plane namespace, so the
 * admission path reads the mTLS setting from memory. Upstream reads it from
 * the API server on every admission request.
 */
export function mtlsSetting(options: { kubeConfig: KubeConfig; namespace: string; logger: Logger }): MtlsSetting {
  const api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const cache = createInformerCache<Configuration>({
    kubeConfig: options.kubeConfig,
    name: 'configurations',
    path: `/apis/dapr.io/v1alpha1/namespaces/${options.namespace}/configurations`,
    list: async (signal) =>
      (await api.listNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: options.namespace, plural: 'configurations' }, requestOptions({ signal }))) as KubernetesListObject<Configuration>,
    logger: options.logger,
    backoff: { initialMs: 1_000, maxMs: 60_000 },
  });
  return {
    cache,
    enabled: () => cache.get(options.namespace, SYSTEM_CONFIGURATION)?.spec?.mtls?.enabled !== false,
  };
}
