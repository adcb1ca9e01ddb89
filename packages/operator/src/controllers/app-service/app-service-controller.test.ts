import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { createMetricsRegistry, silentLogger } from '@tsdapr/runtime';
import { createOperatorMetrics } from '../../metrics.js';
import { appServiceReconciler, type ServiceApi } from './app-service-controller.js';
import { desiredService, type Workload } from './desired-service.js';

type Mod = (w: { metadata: Record<string, unknown>; spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { annotations: Record<string, string> } } } }) => void;

function deployment(name: string, ...mods: Mod[]): Workload {
  const w = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'ns1', uid: `uid-${name}` } as Record<string, unknown>, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { annotations: {} as Record<string, string> } } } };
  for (const mod of mods) mod(w);
  return w;
}
const annotated = (key: string, value: string): Mod => (w) => {
  w.spec.template.metadata.annotations[key] = value;
};
const daprEnabled = (appId: string): Mod => (w) => {
  w.spec.template.metadata.annotations['dapr.io/enabled'] = 'true';
  w.spec.template.metadata.annotations['dapr.io/app-id'] = appId;
};
const deleting: Mod = (w) => {
  w.metadata['deletionTimestamp'] = '2026-01-01T00:00:00Z';
};

function recordingApi(existing: V1Service[] = []): ServiceApi & { calls: string[] } {
  const calls: string[] = [];
  const store = new Map(existing.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
  return {
    calls,
    read: async (namespace, name) => {
      calls.push(`get ${namespace}/${name}`);
      return store.get(`${namespace}/${name}`);
    },
    create: async (service) => {
      calls.push(`create ${service.metadata?.namespace}/${service.metadata?.name}`);
    },
    replace: async (service) => {
      calls.push(`update ${service.metadata?.namespace}/${service.metadata?.name} rv=${service.metadata?.resourceVersion}`);
    },
    delete: async (namespace, name, uid) => {
      calls.push(`delete ${namespace}/${name} uid=${uid}`);
      return true;
    },
  };
}

const withRv = (service: V1Service | undefined, rv: string): V1Service => ({ ...service, metadata: { ...service?.metadata, resourceVersion: rv } });

describe('app-service reconcile (table: the API calls made)', () => {
  const orders = deployment('orders', daprEnabled('orders'));
  const owned = (appId: string): V1Service => ({ ...desiredService('Deployment', deployment('orders', daprEnabled(appId))), metadata: { ...desiredService('Deployment', deployment('orders', daprEnabled(appId)))?.metadata, uid: `svc-${appId}` } });
  const cases: Array<{ name: string; workload: Workload | undefined; existing?: V1Service[]; owned?: V1Service[]; calls: string[] }> = [
    { name: 'workload gone: nothing (garbage collection)', workload: undefined, calls: [] },
    { name: 'workload being deleted: nothing', workload: deployment('orders', daprEnabled('orders'), deleting), calls: [] },
    { name: 'not Dapr-enabled: nothing', workload: deployment('orders', annotated('dapr.io/app-id', 'orders')), calls: [] },
    { name: 'dapr.io/enabled=false: nothing', workload: deployment('orders', annotated('dapr.io/enabled', 'false'), annotated('dapr.io/app-id', 'orders')), calls: [] },
    { name: 'no app id: nothing', workload: deployment('orders', annotated('dapr.io/enabled', 'true')), calls: [] },
    { name: 'app id that makes an invalid name: nothing', workload: deployment('orders', daprEnabled('Orders_Service')), calls: [] },
    { name: 'Service missing: create', workload: orders, calls: ['get ns1/orders-dapr', 'create ns1/orders-dapr'] },
    { name: 'Service up to date: no write', workload: orders, existing: [withRv(desiredService('Deployment', orders), '7')], calls: ['get ns1/orders-dapr'] },
    {
      name: 'Service differs (metrics port changed): update keeping its resourceVersion',
      workload: deployment('orders', daprEnabled('orders'), annotated('dapr.io/metrics-port', '9999')),
      existing: [withRv(desiredService('Deployment', orders), '7')],
      calls: ['get ns1/orders-dapr', 'update ns1/orders-dapr rv=7'],
    },
    { name: 'no longer Dapr-enabled: its Service is deleted (beyond upstream)', workload: deployment('orders', annotated('dapr.io/enabled', 'false'), annotated('dapr.io/app-id', 'orders')), owned: [owned('orders')], calls: ['delete ns1/orders-dapr uid=svc-orders'] },
    { name: 'being deleted: its Service is left to garbage collection', workload: deployment('orders', deleting), owned: [owned('orders')], calls: [] },
    {
      name: 'app id changed: the old Service is deleted, the new one created',
      workload: orders,
      owned: [owned('orders-old'), owned('orders')],
      calls: ['delete ns1/orders-old-dapr uid=svc-orders-old', 'get ns1/orders-dapr', 'create ns1/orders-dapr'],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const api = recordingApi(c.existing);
      const metrics = createOperatorMetrics(createMetricsRegistry());
      const reconcile = appServiceReconciler({ workload: () => c.workload, services: api, ownedServices: (namespace, uid) => (namespace === 'ns1' && uid === 'uid-orders' ? (c.owned ?? []) : []), metrics, logger: silentLogger() });
      await reconcile('Deployment/ns1/orders');
      assert.deepEqual(api.calls, c.calls);
      if (c.calls.some((call) => call.startsWith('delete'))) assert.match(await metrics.serviceDeleted.get().then((m) => JSON.stringify(m.values)), /"app_id":"orders(-old)?"/);
    });
  }
});

test('a reconcile that finds the Service already deleted (404) does not count it again', async () => {
  // Under load: the first reconcile deletes the Service; the Deployment's
  // status, written meanwhile, queues a second one before the Services cache
  // has seen the deletion, so the cache still lists it and its delete is a 404.
  const svc = desiredService('Deployment', deployment('billing', daprEnabled('billing')));
  const stale: V1Service = { ...svc, metadata: { ...svc?.metadata, uid: 'svc-billing' } };
  const live = new Map([['ns1/billing-dapr', 'svc-billing']]);
  const deletes: boolean[] = [];
  const api: ServiceApi = {
    read: async () => undefined,
    create: async () => assert.fail('no create expected'),
    replace: async () => assert.fail('no replace expected'),
    delete: async (namespace, name, uid) => {
      const deleted = live.get(`${namespace}/${name}`) === uid && live.delete(`${namespace}/${name}`);
      deletes.push(deleted);
      return deleted;
    },
  };
  const metrics = createOperatorMetrics(createMetricsRegistry());
  const reconcile = appServiceReconciler({
    workload: () => deployment('billing', annotated('dapr.io/app-id', 'billing')),
    services: api,
    ownedServices: () => [stale],
    metrics,
    logger: silentLogger(),
  });
  await reconcile('Deployment/ns1/billing');
  await reconcile('Deployment/ns1/billing');
  assert.deepEqual(deletes, [true, false], 'the second delete answered 404');
  const values = (await metrics.serviceDeleted.get()).values.filter((v) => v.labels['app_id'] === 'billing');
  assert.deepEqual(values.map((v) => v.value), [1]);
});

test('desired Service: upstream name, labels, annotations, ports, selector and owner', () => {
  const svc = desiredService('StatefulSet', deployment('orders', daprEnabled('orders'), annotated('dapr.io/grpc-port', '6000'), annotated('dapr.io/sidecar-svc-annotations', 'a=b,dapr.io/app-id=evil')));
  assert.equal(svc?.metadata?.name, 'orders-dapr');
  assert.deepEqual(svc?.metadata?.labels, { 'dapr.io/enabled': 'true' });
  assert.deepEqual(svc?.metadata?.annotations, { a: 'b', 'dapr.io/app-id': 'orders', 'prometheus.io/probe': 'true', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'prometheus.io/path': '/' });
  assert.deepEqual(svc?.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]), [['dapr-http', 80, 3500], ['dapr-grpc', 6000, 6000], ['dapr-internal', 50002, 50002], ['dapr-metrics', 9090, 9090]]);
  assert.equal(svc?.spec?.clusterIP, 'None');
  assert.deepEqual(svc?.spec?.selector, { app: 'orders' });
  assert.deepEqual(svc?.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'orders', uid: 'uid-orders', controller: true, blockOwnerDeletion: true }]);
  const noMetrics = desiredService('Deployment', deployment('x', daprEnabled('x'), annotated('dapr.io/enable-metrics', 'false')));
  assert.deepEqual(noMetrics?.metadata?.annotations, { 'dapr.io/app-id': 'x' });
});
