import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pollUntil } from './http-probe.js';

/** Set by scripts/run-tests.mjs to the admin kubeconfig of the cluster it started. */
export const TEST_KUBECONFIG_ENV = 'TSDAPR_TEST_KUBECONFIG';

export class NoTestClusterError extends Error {
  readonly code = 'no_test_cluster';
}

/** The kubeconfig path of the test cluster; throws when tests were not started by the runner. */
export function requireTestCluster(): string {
  const path = process.env[TEST_KUBECONFIG_ENV];
  if (!path) {
    throw new NoTestClusterError(
      `${TEST_KUBECONFIG_ENV} is not set: integration tests need the cluster that scripts/run-tests.mjs starts ` +
        `(run "pnpm test"), or point it at a kubeconfig from "pnpm cluster up"`,
    );
  }
  return path;
}

export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(requireTestCluster());
  return kc;
}

export interface TestNamespace {
  readonly name: string;
  /** Deletes the namespace without waiting for it to be gone. */
  cleanup(): Promise<void>;
}

export interface TestNamespaceOptions {
  readonly labels?: Record<string, string>;
  readonly kubeConfig?: KubeConfig;
  /** How long to wait for the namespace's `default` ServiceAccount. */
  readonly timeoutMs?: number;
}

/**
 * Creates `<prefix>-<random>` and waits for its `default` ServiceAccount,
 * without which the ServiceAccount admission plugin rejects pods.
 */
export async function createTestNamespace(prefix: string, options: TestNamespaceOptions = {}): Promise<TestNamespace> {
  const core = (options.kubeConfig ?? testKubeConfig()).makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase();
  await core.createNamespace({ body: { metadata: { name, labels: { 'tsdapr.io/test': 'true', ...options.labels } } } });
  await pollUntil(
    `ServiceAccount default in namespace ${name}`,
    async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: name })) ?? undefined,
    { timeoutMs: options.timeoutMs ?? 30_000 },
  );
  return {
    name,
    async cleanup(): Promise<void> {
      await core.deleteNamespace({ name });
    },
  };
}
