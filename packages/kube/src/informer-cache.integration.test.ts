/**
 * createInformerCache against a real kube-apiserver: list, then watch
 * events for adds, updates and deletes. Needs TSDAPR_TEST_KUBECONFIG (set by
 * scripts/run-tests.mjs); without it the test fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { silentLogger } from '@tsdapr/runtime';
import { createInformerCache, type InformerEvent } from './informer-cache.js';
import { isNotFound } from './api-errors.js';
import { loadKubeConfig } from './kube-config.js';
import { requestOptions } from './request-options.js';

async function eventually(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('informer cache: initial list, then add/update/delete from the watch', async (t) => {
  const path = process.env['TSDAPR_TEST_KUBECONFIG'];
  if (!path) throw new Error('TSDAPR_TEST_KUBECONFIG is not set: run this through scripts/run-tests.mjs ("pnpm test")');
  const kubeConfig = loadKubeConfig(path);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const run = randomBytes(3).toString('hex');
  const namespace = `kube-informer-${run}`;
  const labelSelector = `tsdapr.io/informer-test=${run}`;
  const labels = { 'tsdapr.io/informer-test': run };
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  t.after(() => core.deleteNamespace({ name: namespace }).then(() => undefined, () => undefined));

  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'before', labels }, data: { v: '1' } } });
  // Not selected by the label: must not show up.
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'unlabelled' }, data: { v: '1' } } });

  const cache = createInformerCache<V1ConfigMap>({
    kubeConfig,
    name: 'configmaps',
    path: '/api/v1/configmaps',
    labelSelector,
    logger: silentLogger(),
    list: (signal) => core.listConfigMapForAllNamespaces({ labelSelector }, requestOptions({ signal })),
  });
  const events: string[] = [];
  cache.onChange((event: InformerEvent<V1ConfigMap>) => events.push(`${event.type}:${event.object.metadata?.name ?? ''}`));

  const stop = new AbortController();
  const running = cache.runner(stop.signal);
  try {
    assert.equal(await cache.waitUntilReady(AbortSignal.timeout(15_000)), true);
    assert.equal(cache.get(namespace, 'before')?.data?.['v'], '1');
    assert.equal(cache.get(namespace, 'unlabelled'), undefined);
    assert.deepEqual(
      cache.list(namespace).map((cm) => cm.metadata?.name),
      ['before'],
    );

    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'after', labels }, data: { v: '1' } } });
    await eventually('the add', () => cache.get(namespace, 'after') !== undefined);

    await core.replaceNamespacedConfigMap({ namespace, name: 'after', body: { metadata: { name: 'after', labels }, data: { v: '2' } } });
    await eventually('the update', () => cache.get(namespace, 'after')?.data?.['v'] === '2');

    await core.deleteNamespacedConfigMap({ namespace, name: 'before' });
    await eventually('the delete', () => cache.get(namespace, 'before') === undefined);

    assert.deepEqual(events, ['add:before', 'add:after', 'update:after', 'delete:before']);
  } finally {
    stop.abort();
    await running;
  }
  assert.equal(cache.ready(), false);
  await assert.rejects(core.readNamespacedConfigMap({ namespace, name: 'before' }), (err: unknown) => isNotFound(err));
});
