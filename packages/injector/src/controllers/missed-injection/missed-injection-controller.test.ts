import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KubeConfig, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import type { InformerCache, InformerEvent } from '@tsdapr/kube';
import { silentLogger } from '@tsdapr/runtime';
import { Registry } from 'prom-client';
import { createInjectorMetrics } from '../../metrics.js';
import { daprEnabled, ownedBy, pod, withContainers, withInitContainers } from '../../testing/pod-fixtures.js';
import type { Pod } from '../../patch/pod-types.js';
import { missedInjection } from './missed-injection.js';
import { missedInjectionController } from './missed-injection-controller.js';

/** An in-memory stand-in for the pod informer: the controller only reads it. */
function fakeCache(pods: V1Pod[]): InformerCache<V1Pod> & { emit(event: InformerEvent<V1Pod>): void } {
  const byKey = new Map(pods.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]));
  const listeners = new Set<(event: InformerEvent<V1Pod>) => void>();
  return {
    name: 'pods',
    runner: () => Promise.resolve(),
    ready: () => true,
    waitUntilReady: () => Promise.resolve(true),
    get: (namespace, name) => byKey.get(`${namespace}/${name}`),
    list: () => [...byKey.values()],
    onChange: (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    emit(event) {
      const key = `${event.object.metadata?.namespace}/${event.object.metadata?.name}`;
      if (event.type === 'delete') byKey.delete(key);
      else byKey.set(key, event.object);
      for (const listener of listeners) listener(event);
    },
  };
}

function stored(input: Pod, uid: string): V1Pod {
  return { ...(input as V1Pod), metadata: { ...(input as V1Pod).metadata, namespace: 'shop', uid } };
}

void describe('missedInjection', () => {
  const cases: [string, Pod, boolean][] = [
    ['enabled without daprd', pod('p', daprEnabled()), true],
    ['enabled with daprd', pod('p', daprEnabled(), withContainers({ name: 'app' }, { name: 'daprd' })), false],
    ['enabled with a native daprd', pod('p', daprEnabled(), withInitContainers({ name: 'daprd' })), false],
    ['not enabled', pod('p'), false],
  ];
  for (const [what, input, expected] of cases) {
    void test(what, () => assert.equal(missedInjection(input), expected));
  }
});

void describe('missedInjectionController', () => {
  void test('reports each pod without its sidecar once, as a Warning Event and a metric', async () => {
    const registry = new Registry();
    const metrics = createInjectorMetrics(registry);
    const missing = stored(pod('orders-7d9f-abcde', daprEnabled('orders'), ownedBy('ReplicaSet', 'orders-7d9f')), 'uid-1');
    const fine = stored(pod('ok', daprEnabled('ok'), withContainers({ name: 'app' }, { name: 'daprd' })), 'uid-2');
    const cache = fakeCache([missing, fine]);
    const events: [string, CoreV1Event][] = [];
    const at = new Date('2026-01-01T00:00:00Z');
    const controller = missedInjectionController({
      kubeConfig: new KubeConfig(),
      logger: silentLogger(),
      metrics,
      cache,
      now: () => at,
      events: {
        create: (namespace, event) => {
          events.push([namespace, event]);
          return Promise.resolve();
        },
      },
    });
    const abort = new AbortController();
    const running = controller.runner(abort.signal);
    try {
      for (let i = 0; i < 50 && events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(events.length, 1);
      const [namespace, event] = events[0]!;
      assert.equal(namespace, 'shop');
      assert.equal(event.reason, 'DaprSidecarMissing');
      assert.equal(event.type, 'Warning');
      assert.deepEqual(event.involvedObject, { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'orders-7d9f-abcde', uid: 'uid-1' });
      assert.match(event.message ?? '', /no daprd sidecar.*delete the pod so that its ReplicaSet recreates it/);
      assert.equal(event.firstTimestamp, at);

      // An update of the same pod is not reported again; a new pod is.
      cache.emit({ type: 'update', object: missing });
      cache.emit({ type: 'add', object: stored(pod('bare', daprEnabled('bare')), 'uid-3') });
      for (let i = 0; i < 50 && events.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(events.map(([, e]) => e.involvedObject.name), ['orders-7d9f-abcde', 'bare']);
      assert.match(events[1]![1].message ?? '', /recreate the pod/);
      const counter = (await registry.getMetricsAsJSON()).find((m) => m.name === 'tsdapr_injector_missed_injections_total');
      assert.equal(counter?.values[0]?.value, 2);
    } finally {
      abort.abort();
      await running;
    }
  });

  void test('a failed Event write is retried later', async () => {
    const missing = stored(pod('p', daprEnabled('p')), 'uid-9');
    let calls = 0;
    const controller = missedInjectionController({
      kubeConfig: new KubeConfig(),
      logger: silentLogger(),
      metrics: createInjectorMetrics(new Registry()),
      cache: fakeCache([missing]),
      events: {
        create: () => {
          calls += 1;
          return calls === 1 ? Promise.reject(new Error('apiserver down')) : Promise.resolve();
        },
      },
    });
    const abort = new AbortController();
    await assert.rejects(controller.reconcile('shop/p', abort.signal), /apiserver down/);
    await controller.reconcile('shop/p', abort.signal);
    await controller.reconcile('shop/p', abort.signal);
    assert.equal(calls, 2);
  });
});
