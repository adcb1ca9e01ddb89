import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { TsdaprError } from '@tsdapr/runtime';
import { PooledKubeConfig } from './pooled-kube-config.js';

export class KubeConfigError extends TsdaprError {}

/** Where a pod's service-account credentials are mounted. */
export const IN_CLUSTER_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface LoadKubeConfigOptions {
  /**
   * Prefix for the in-cluster service-account files (client-node's
   * `loadFromCluster(pathPrefix)`); for tests only.
   */
  readonly inClusterPathPrefix?: string;
}

/**
 * Loads the Kubernetes client configuration:
 *
 * - `path` given (the caller's `--kubeconfig` flag, else its `KUBECONFIG`
 *   variable; this library never reads the environment itself): that file.
 *   Like kubectl, a `KUBECONFIG`-style list (`a:b`) is merged, the first file
 *   to define a name wins, and the current context comes from the first file
 *   that sets one.
 * - no path: the in-cluster configuration (service-account token, CA and
 *   `KUBERNETES_SERVICE_HOST`/`PORT`, which client-node itself reads).
 *
 * The result is a PooledKubeConfig: its API clients (`makeApiClient`) and
 * watches share keep-alive connections.
 *
 * Throws a KubeConfigError (`kubeconfig_invalid` or `kubeconfig_not_found`)
 * with a message that says what to do.
 */
export function loadKubeConfig(path?: string, options: LoadKubeConfigOptions = {}): KubeConfig {
  const files = (path ?? '')
    .split(delimiter)
    .map((file) => file.trim())
    .filter((file) => file.length > 0);
  if (files.length > 0) return loadFiles(files);
  return loadInCluster(options.inClusterPathPrefix ?? '');
}

function loadFiles(files: readonly string[]): KubeConfig {
  const merged = new PooledKubeConfig();
  merged.clusters = [];
  merged.users = [];
  merged.contexts = [];
  merged.currentContext = '';
  for (const file of files) {
    if (!existsSync(file)) {
      throw new KubeConfigError('kubeconfig_not_found', `kubeconfig file "${file}" does not exist (check --kubeconfig or KUBECONFIG)`);
    }
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (err) {
      throw new KubeConfigError('kubeconfig_invalid', `kubeconfig file "${file}" cannot be loaded: ${(err as Error).message}`, { cause: err });
    }
    for (const cluster of one.clusters) if (!merged.clusters.some((c) => c.name === cluster.name)) merged.clusters.push(cluster);
    for (const user of one.users) if (!merged.users.some((u) => u.name === user.name)) merged.users.push(user);
    for (const context of one.contexts) if (!merged.contexts.some((c) => c.name === context.name)) merged.contexts.push(context);
    if (!merged.currentContext && one.currentContext) merged.currentContext = one.currentContext;
  }
  const source = files.join(delimiter);
  if (!merged.currentContext) {
    throw new KubeConfigError('kubeconfig_invalid', `kubeconfig "${source}" sets no current-context`);
  }
  if (!merged.getCurrentCluster()) {
    throw new KubeConfigError(
      'kubeconfig_invalid',
      `kubeconfig "${source}": current context "${merged.currentContext}" does not name a known context and cluster`,
    );
  }
  return merged;
}

function loadInCluster(prefix: string): KubeConfig {
  const tokenPath = `${prefix}${IN_CLUSTER_TOKEN_PATH}`;
  if (!existsSync(tokenPath)) {
    throw new KubeConfigError(
      'kubeconfig_not_found',
      `no kubeconfig given and not running in a pod (no service-account token at ${tokenPath}): pass --kubeconfig or set KUBECONFIG`,
    );
  }
  const config = new PooledKubeConfig();
  config.loadFromCluster(prefix);
  const server = config.getCurrentCluster()?.server ?? '';
  if (server.includes('undefined')) {
    throw new KubeConfigError(
      'kubeconfig_not_found',
      'in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, which are not set: pass --kubeconfig or set KUBECONFIG',
    );
  }
  return config;
}
