import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type { Client, ClientReadableStream } from '@grpc/grpc-js';
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { pollUntil, startCluster, type Cluster } from '@tsdapr/e2e-harness';
import { clientCredentials, operatorService, SPIFFE_CHANNEL_OPTIONS } from '@tsdapr/grpc';
import { createInformerCache, requestOptions, type InformerCache, type WatchEndReason } from '@tsdapr/kube';
import { silentLogger } from '@tsdapr/runtime';
import { installCrds } from './test-support/install-crds.js';
import { startOperatorProcess } from './test-support/operator-process.js';
import { createTestPki } from './test-support/test-identities.js';

/**
 * The operator's caches (createInformerCache) against a PRIVATE real
 * kube-apiserver that this file starts, restarts and stalls:
 * - the API server restarts (etcd kept): an object created afterwards
 *   reaches the cache without anyone restarting it;
 * - a watch stalls without its connection closing (a TCP proxy stops
 *   forwarding the bytes of the open connections): the inactivity watchdog
 *   restarts it, while the same cache with the watchdog effectively off
 *   stays blind.
 * - the operator process itself: a sidecar's ComponentUpdate stream, open
 *   across an API server restart, receives a Component created afterwards.
 * The recovery times are printed.
 */

const LABEL = 'tsdapr.io/watch-recovery';
let cluster: Cluster;
let core: CoreV1Api;
const namespace = 'watch-recovery';

before(async () => {
  cluster = await startCluster();
  core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

after(async () => {
  await cluster?.stop();
});

function configMapCache(kubeConfig: KubeConfig, run: string, name: string, extra: { inactivityTimeoutMs?: number; onWatchEnd?: (reason: WatchEndReason) => void } = {}): InformerCache<V1ConfigMap> {
  const labelSelector = `${LABEL}=${run}`;
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return createInformerCache<V1ConfigMap>({
    kubeConfig,
    name,
    path: '/api/v1/configmaps',
    labelSelector,
    logger: silentLogger(),
    list: (signal) => api.listConfigMapForAllNamespaces({ labelSelector }, requestOptions({ signal, timeoutMs: 10_000 })),
    ...extra,
  });
}

async function createConfigMap(run: string, name: string): Promise<void> {
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: { [LABEL]: run } }, data: { v: '1' } } });
}

async function arrival(cache: InformerCache<V1ConfigMap>, name: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await pollUntil(`${name} in the ${cache.name} cache`, () => Promise.resolve(cache.get(namespace, name) ? true : undefined), { timeoutMs, intervalMs: 20 });
  return Date.now() - started;
}

test('a cache keeps delivering after the API server restarts', async () => {
  const ends: string[] = [];
  let restartStarted = Date.now();
  const cache = configMapCache(cluster.kubeConfig(), 'restart', 'restart', { onWatchEnd: (reason) => ends.push(`${reason} at +${Date.now() - restartStarted} ms`) });
  const stop = new AbortController();
  const running = cache.runner(stop.signal);
  try {
    assert.equal(await cache.waitUntilReady(AbortSignal.timeout(15_000)), true);
    await createConfigMap('restart', 'before');
    await arrival(cache, 'before', 10_000);

    restartStarted = Date.now();
    await cluster.restartApiServer({ downMs: 3000 });
    const restartMs = Date.now() - restartStarted;
    await createConfigMap('restart', 'after');
    const arrivalMs = await arrival(cache, 'after', 20_000);
    console.log(`apiserver restart: stopped, down 3 s, started and ready again in ${restartMs} ms; an object created afterwards reached the cache ${arrivalMs} ms after its create returned (watch ends: ${ends.join(', ')})`);
    assert.ok(ends.length >= 1, 'the old watch ended');
    assert.equal(cache.ready(), true);
  } finally {
    stop.abort();
    await running;
  }
});

/** Forwards TCP to the API server until `freeze()`: then the open connections stay open and carry nothing; new ones still work. */
async function stallingProxy(target: URL): Promise<{ url: string; freeze(): void; close(): Promise<void> }> {
  const pairs: Array<[Socket, Socket]> = [];
  let forwarding: Array<[Socket, Socket]> = [];
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    pairs.push([client, upstream]);
    forwarding.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `https://127.0.0.1:${address.port}`,
    freeze() {
      for (const [client, upstream] of forwarding) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      forwarding = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
      }),
  };
}

test('a watch stalled with its connection open is restarted by the inactivity watchdog', async () => {
  const proxy = await stallingProxy(new URL(cluster.server));
  const viaProxy = new KubeConfig();
  viaProxy.loadFromString(readFileSync(cluster.kubeconfigPath, 'utf8').replace(cluster.server, proxy.url));
  const INACTIVITY_MS = 5000;
  const ends: WatchEndReason[] = [];
  const guarded = configMapCache(viaProxy, 'stall', 'guarded', { inactivityTimeoutMs: INACTIVITY_MS, onWatchEnd: (reason) => ends.push(reason) });
  const unguarded = configMapCache(viaProxy, 'stall', 'unguarded', { inactivityTimeoutMs: 600_000 });
  const stop = new AbortController();
  const running = Promise.all([guarded.runner(stop.signal), unguarded.runner(stop.signal)]);
  try {
    assert.equal(await guarded.waitUntilReady(AbortSignal.timeout(15_000)), true);
    assert.equal(await unguarded.waitUntilReady(AbortSignal.timeout(15_000)), true);
    await createConfigMap('stall', 'flowing');
    await arrival(guarded, 'flowing', 10_000);
    await arrival(unguarded, 'flowing', 10_000);

    proxy.freeze();
    ends.length = 0;
    await createConfigMap('stall', 'stalled');
    const arrivalMs = await arrival(guarded, 'stalled', INACTIVITY_MS + 10_000);
    // Give the unguarded cache as long again: its watch is really stuck, not just slow.
    await new Promise((resolve) => setTimeout(resolve, Math.max(arrivalMs, 3000)));
    console.log(`stalled watch: the cache with a ${INACTIVITY_MS} ms inactivity watchdog got the object after ${arrivalMs} ms (watch ends: ${ends.join(', ')}); without it, still missing after ${arrivalMs + Math.max(arrivalMs, 3000)} ms`);
    assert.ok(ends.includes('stalled'), `the watchdog gave up the frozen watch (ends: ${ends.join(', ')})`);
    assert.equal(unguarded.get(namespace, 'stalled'), undefined, 'the same cache without the watchdog never hears of it: the stall is real');
  } finally {
    stop.abort();
    await running;
    await proxy.close();
  }
});

test('the operator process: a ComponentUpdate stream open across an API server restart receives a Component created afterwards', async () => {
  await installCrds(cluster.kubeConfig());
  const pki = createTestPki();
  const operatorId = 'spiffe://cluster.local/ns/dapr-system/dapr-operator';
  const files = pki.writeOperatorFiles(operatorId);
  const operator = await startOperatorProcess({
    args: [
      '--kubeconfig', cluster.kubeconfigPath,
      '--tls-cert-file', files.certFile, '--tls-key-file', files.keyFile, '--trust-anchors-file', files.trustAnchorsFile,
      '--disable-service-reconciler', '--enable-webhooks=false', '--disable-leader-election',
      '--watch-namespace', namespace,
    ],
    env: { NAMESPACE: 'dapr-system' },
  });
  const { Client: OperatorClient } = operatorService();
  const client = new OperatorClient(
    `127.0.0.1:${operator.apiPort}`,
    clientCredentials({ trustAnchorsPem: pki.trustAnchorsPem, expectedServerId: operatorId, identity: pki.svid(`spiffe://public/ns/${namespace}/app`) }),
    { ...SPIFFE_CHANNEL_OPTIONS },
  ) as Client & Record<string, (request: unknown) => ClientReadableStream<Record<string, unknown>>>;
  const custom = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
  const createComponent = (name: string) =>
    custom.createNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'components', body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name }, spec: { type: 'state.in-memory', version: 'v1', metadata: [] } } });
  const received: string[] = [];
  const stream = client['ComponentUpdate']!.call(client, { namespace });
  stream.on('data', (event: Record<string, unknown>) => {
    const component = JSON.parse((event['component'] as Buffer).toString()) as { metadata: { name: string } };
    received.push(`${String(event['type'])}:${component.metadata.name}`);
  });
  stream.on('error', () => undefined);
  try {
    await pollUntil('stream registered', async () => (/dapr_operator_api_open_streams\{kind="Component"\} [1-9]/.test(await operator.metrics()) ? true : undefined), { timeoutMs: 10_000 });
    await createComponent('before');
    await pollUntil('CREATED before', () => Promise.resolve(received.includes('CREATED:before') ? true : undefined), { timeoutMs: 10_000 });

    const restartStarted = Date.now();
    await cluster.restartApiServer({ downMs: 3000 });
    const restartMs = Date.now() - restartStarted;
    const created = Date.now();
    await createComponent('after');
    await pollUntil('CREATED after, on the same stream', () => Promise.resolve(received.includes('CREATED:after') ? true : undefined), { timeoutMs: 20_000, intervalMs: 20 });
    console.log(`operator across an apiserver restart (${restartMs} ms): the Component created afterwards reached the open ComponentUpdate stream ${Date.now() - created} ms after its create was sent`);
    assert.deepEqual(received, ['CREATED:before', 'CREATED:after']);
    // The restart is visible to whoever runs the operator, not only in its log.
    const metrics = await operator.metrics();
    assert.match(metrics, /tsdapr_operator_watch_ends_total\{cache="components",reason="(failed|closed)"\} [1-9]/);
    assert.match(metrics, /tsdapr_operator_watch_ends_total\{cache="deployments",reason="(failed|closed)"\} [1-9]/, 'the workload caches count too');
  } finally {
    stream.cancel();
    client.close();
    await operator.stop();
  }
});
