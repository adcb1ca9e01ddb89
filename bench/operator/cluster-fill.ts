import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { pollUntil } from '@tsdapr/e2e-harness';

/** Runs `task(0..count-1)` with at most `concurrency` in flight; the first failure stops it. */
export async function forEachBounded(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export async function createNamespace(kubeConfig: KubeConfig, name: string): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name } } });
  // The API server refuses pods until the service-account controller has made `default`.
  await pollUntil(`ServiceAccount ${name}/default`, async () => ((await core.readNamespacedServiceAccount({ namespace: name, name: 'default' }).catch(() => undefined)) ? true : undefined), { timeoutMs: 30_000 });
}

const COMPONENT_API = { group: 'dapr.io', version: 'v1alpha1', plural: 'components' } as const;

/** `count` Components shaped like a typical state store: a type, a version and a few plain metadata values. */
export async function createComponents(kubeConfig: KubeConfig, namespace: string, count: number, concurrency: number): Promise<void> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  await forEachBounded(count, concurrency, async (index) => {
    await custom.createNamespacedCustomObject({
      ...COMPONENT_API,
      namespace,
      body: {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Component',
        metadata: { name: `store-${index}`, labels: { team: `team-${index % 50}` } },
        spec: {
          type: 'state.redis',
          version: 'v1',
          metadata: [
            { name: 'redisHost', value: `redis-${index % 100}.data.svc.cluster.local:6379` },
            { name: 'keyPrefix', value: 'name' },
            { name: 'actorStateStore', value: index % 10 === 0 ? 'true' : 'false' },
          ],
        },
        scopes: [`app-${index % 500}`],
      },
    });
  });
}

export async function deleteComponents(kubeConfig: KubeConfig, namespace: string): Promise<void> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  await custom.deleteCollectionNamespacedCustomObject({ ...COMPONENT_API, namespace });
  await pollUntil(
    `Components in ${namespace} gone`,
    async () => (((await custom.listNamespacedCustomObject({ ...COMPONENT_API, namespace, limit: 1 })) as { items: unknown[] }).items.length === 0 ? true : undefined),
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
}

/**
 * `count` Pods without any Dapr annotation, shaped like a Deployment's
 * (labels, a container with ports, env and resources). No scheduler or
 * kubelet runs, so they stay Pending: exactly what an operator's informer
 * would hold of them.
 */
export async function createPods(kubeConfig: KubeConfig, namespace: string, count: number, concurrency: number): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await forEachBounded(count, concurrency, async (index) => {
    const app = `web-${index % 200}`;
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: `${app}-${index}`, labels: { app, 'pod-template-hash': (index % 200).toString(16).padStart(8, '0') } },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'web',
              image: `registry.example.invalid/${app}:1.0.${index % 7}`,
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [
                { name: 'APP_NAME', value: app },
                { name: 'LOG_LEVEL', value: 'info' },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
            },
          ],
        },
      },
    });
  });
}
