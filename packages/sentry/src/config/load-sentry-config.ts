import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { isNotFound } from '@tsdapr/kube';
import type { Logger } from '@tsdapr/runtime';
import yaml from 'js-yaml';
import { DEFAULT_SENTRY_CONFIG, sentryConfigFromConfiguration, type SentryConfig } from './sentry-config.js';

/**
 * Kubernetes: the Configuration named by --config in sentry's namespace.
 * A missing one means defaults (with a warning); an invalid one is fatal.
 */
export async function loadKubernetesSentryConfig(kubeConfig: KubeConfig, namespace: string, name: string, logger: Logger): Promise<SentryConfig> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    const object: unknown = await api.getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'configurations', name });
    return sentryConfigFromConfiguration(object, `Configuration ${namespace}/${name}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    logger.warn({ configuration: `${namespace}/${name}` }, 'Configuration not found; using default workload certificate TTL (24h) and clock skew (15m)');
    return DEFAULT_SENTRY_CONFIG;
  }
}

/** Standalone: a Configuration YAML file; a missing file means defaults. */
export async function loadFileSentryConfig(path: string, logger: Logger): Promise<SentryConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    logger.warn({ path }, 'configuration file not found; using defaults');
    return DEFAULT_SENTRY_CONFIG;
  }
  return sentryConfigFromConfiguration(yaml.load(text), path);
}
