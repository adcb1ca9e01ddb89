import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { silentLogger, createMetricsRegistry } from '@tsdapr/runtime';
import { createOperatorMetrics } from '../metrics.js';
import { ChangeFeed } from '../resources/change-feed.js';
import { keyOf, type DaprResource, type ResourceKind } from '../resources/dapr-resource.js';
import { component, fakeCall, inNamespace, settle, withMetadata, withScopes, withVersion } from '../testing/fixtures.js';
import { createOperatorApi, type ResourceStore } from './operator-api.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

function memoryStore(resources: DaprResource[] = []): ResourceStore & { items: DaprResource[] } {
  const items = [...resources];
  return {
    items,
    list: (namespace) => items.filter((r) => r.metadata?.namespace === namespace),
    get: (namespace, name) => items.find((r) => r.metadata?.namespace === namespace && r.metadata?.name === name),
  };
}

function setup(components: DaprResource[] = []) {
  const registry = createMetricsRegistry();
  const metrics = createOperatorMetrics(registry);
  const stores = {
    Component: memoryStore(components),
    Configuration: memoryStore([{ metadata: { name: 'appconfig', namespace: 'ns1' }, spec: { tracing: { samplingRate: '1' } } }]),
    Subscription: memoryStore([{ apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 's', namespace: 'ns1' }, spec: { pubsubname: 'p', topic: 't', routes: { default: '/t' } }, scopes: ['other'] }]),
    Resiliency: memoryStore([{ metadata: { name: 'r', namespace: 'ns1' }, spec: {} }]),
    HTTPEndpoint: memoryStore([]),
  } satisfies Record<ResourceKind, ResourceStore>;
  const feeds = { Component: new ChangeFeed(), Subscription: new ChangeFeed(), HTTPEndpoint: new ChangeFeed() };
  const shutdown = new AbortController();
  const secrets: Record<string, Record<string, string>> = { 'ns1/redis': { password: b64('pw') } };
  const secretReads: string[] = [];
  const readSecret = async (ns: string, name: string): Promise<Record<string, string> | undefined> => {
    secretReads.push(`${ns}/${name}`);
    return secrets[`${ns}/${name}`];
  };
  const api = createOperatorApi({ stores, feeds, readSecret, metrics, logger: silentLogger(), signal: shutdown.signal });
  return { api, stores, feeds, shutdown, registry, secretReads };
}

type Handler = (call: unknown, callback?: (err: unknown, value?: unknown) => void) => void;

function callUnary(api: Record<string, unknown>, method: string, request: unknown, spiffeId: string | undefined): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    (api[method] as Handler)(fakeCall(request, spiffeId), (err, value) => (err ? reject(Object.assign(new Error('rpc failed'), err)) : resolve(value as Record<string, unknown>)));
  });
}

const APP_A = 'spiffe://public/ns/ns1/a';
const decode = (bytes: unknown): DaprResource => JSON.parse((bytes as Buffer).toString()) as DaprResource;

describe('authorization (spec 4.3)', () => {
  const cases: Array<[string, unknown, string | undefined, status, RegExp]> = [
    ['no client certificate', { namespace: 'ns1' }, undefined, status.PERMISSION_DENIED, /failed to determine identity/],
    ['another namespace', { namespace: 'ns2' }, APP_A, status.PERMISSION_DENIED, /identity does not match requested namespace exp=ns1 got=ns2/],
    ['an empty namespace', { namespace: '' }, APP_A, status.PERMISSION_DENIED, /exp=ns1 got=$/],
  ];
  for (const [name, request, id, code, message] of cases) {
    test(`ListComponents refuses ${name}`, async () => {
      const { api } = setup();
      await assert.rejects(callUnary(api, 'ListComponents', request, id), (err: { code: status; details: string }) => {
        assert.equal(err.code, code);
        assert.match(err.details, message);
        return true;
      });
    });
  }
  test('legacy ListSubscriptions always fails authorization', async () => {
    const { api } = setup();
    await assert.rejects(callUnary(api, 'ListSubscriptions', {}, APP_A), (err: { code: status }) => err.code === status.PERMISSION_DENIED);
  });
  test('a stream from another namespace ends with PermissionDenied', () => {
    const { api } = setup();
    const call = fakeCall({ namespace: 'ns2' }, APP_A);
    (api['ComponentUpdate'] as Handler)(call);
    assert.equal((call.endedWith as { code: status }).code, status.PERMISSION_DENIED);
  });
});

describe('ListComponents', () => {
  test('returns the components in scope for the caller, with secrets inlined, as Kubernetes JSON', async () => {
    const { api } = setup([
      component('all', withMetadata({ name: 'pw', secretKeyRef: { name: 'redis', key: 'password' } })),
      component('mine', withScopes('a')),
      component('theirs', withScopes('b')),
      component('elsewhere', inNamespace('ns2')),
    ]);
    const response = await callUnary(api, 'ListComponents', { namespace: 'ns1' }, APP_A);
    const list = (response['components'] as Buffer[]).map(decode);
    assert.deepEqual(list.map((c) => c.metadata?.name), ['all', 'mine']);
    assert.equal(list[0]?.apiVersion, 'dapr.io/v1alpha1');
    assert.equal(list[0]?.kind, 'Component');
    assert.deepEqual((list[0]?.spec?.['metadata'] as unknown[])[0], { name: 'pw', secretKeyRef: { name: 'redis', key: 'password' }, value: b64('pw') });
  });

  test('a missing Secret leaves out only the component that needs it, counted by secret', async () => {
    const { api, registry } = setup([component('ok'), component('broken', withMetadata({ name: 'pw', secretKeyRef: { name: 'gone', key: 'k' } }))]);
    const response = await callUnary(api, 'ListComponents', { namespace: 'ns1' }, APP_A);
    assert.deepEqual((response['components'] as Buffer[]).map(decode).map((c) => c.metadata?.name), ['ok']);
    assert.match(await registry.metrics(), /dapr_operator_secret_resolution_failures_total\{namespace="ns1",kind="Component",name="broken",secret="gone",code="secret_not_found"\} 1/);
  });
});

test('GetConfiguration, GetResiliency, ListResiliency, ListSubscriptionsV2 (no scope filter)', async () => {
  const { api } = setup();
  assert.equal(decode((await callUnary(api, 'GetConfiguration', { name: 'appconfig', namespace: 'ns1' }, APP_A))['configuration']).metadata?.name, 'appconfig');
  await assert.rejects(callUnary(api, 'GetConfiguration', { name: 'nope', namespace: 'ns1' }, APP_A), (err: { code: status }) => err.code === status.NOT_FOUND);
  await assert.rejects(callUnary(api, 'GetConfiguration', { name: '', namespace: 'ns1' }, APP_A), (err: { code: status }) => err.code === status.INVALID_ARGUMENT);
  assert.equal(decode((await callUnary(api, 'GetResiliency', { name: 'r', namespace: 'ns1' }, APP_A))['resiliency']).metadata?.name, 'r');
  assert.equal(((await callUnary(api, 'ListResiliency', { namespace: 'ns1' }, APP_A))['resiliencies'] as unknown[]).length, 1);
  const subs = ((await callUnary(api, 'ListSubscriptionsV2', { namespace: 'ns1' }, APP_A))['subscriptions'] as Buffer[]).map(decode);
  assert.deepEqual(subs.map((s) => [s.apiVersion, s.metadata?.name]), [['dapr.io/v2alpha1', 's']]);
});

describe('ComponentUpdate stream', () => {
  test('sends changes only, in order, scope-aware, for its namespace, with secrets resolved', async () => {
    const { api, feeds } = setup([component('existing')]);
    feeds.Component.seed([component('existing', withVersion('1'))]);
    const call = fakeCall({ namespace: 'ns1' }, APP_A);
    (api['ComponentUpdate'] as Handler)(call);
    const v1 = component('c', withVersion('100'), withMetadata({ name: 'pw', secretKeyRef: { name: 'redis', key: 'password' } }));
    const v2 = component('c', withVersion('101'), withScopes('b'));
    const v3 = component('c', withVersion('102'), withScopes('a'));
    feeds.Component.handle({ type: 'add', object: v1 });
    feeds.Component.handle({ type: 'update', object: v1 });
    feeds.Component.handle({ type: 'update', object: v2 });
    feeds.Component.handle({ type: 'update', object: v3 });
    feeds.Component.handle({ type: 'add', object: component('other-ns', inNamespace('ns2')) });
    feeds.Component.handle({ type: 'delete', object: v3 });
    await settle();
    const events = call.written.map((m) => [m['type'], keyOf(decode(m['component'])), decode(m['component']).metadata?.resourceVersion]);
    assert.deepEqual(events, [
      ['CREATED', 'ns1/c', '100'],
      ['DELETED', 'ns1/c', '100'],
      ['CREATED', 'ns1/c', '102'],
      ['DELETED', 'ns1/c', '102'],
    ]);
    assert.equal(((decode(call.written[0]?.['component']).spec?.['metadata'] as Array<{ value: unknown }>)[0])?.value, b64('pw'));
  });

  test('a component whose Secret is missing is not sent; the stream stays open', async () => {
    const { api, feeds } = setup();
    const call = fakeCall({ namespace: 'ns1' }, APP_A);
    (api['ComponentUpdate'] as Handler)(call);
    feeds.Component.handle({ type: 'add', object: component('broken', withMetadata({ name: 'pw', secretKeyRef: { name: 'gone' } })) });
    feeds.Component.handle({ type: 'add', object: component('fine') });
    await settle();
    assert.deepEqual(call.written.map((m) => decode(m['component']).metadata?.name), ['fine']);
    assert.equal(call.endedWith, undefined);
  });

  test('a change to many streams is resolved and serialized once: one Secret read, the same bytes on every stream', async () => {
    const { api, feeds, secretReads } = setup();
    const calls = Array.from({ length: 20 }, () => fakeCall({ namespace: 'ns1' }, APP_A));
    for (const call of calls) (api['ComponentUpdate'] as Handler)(call);
    feeds.Component.handle({ type: 'add', object: component('c', withVersion('1'), withMetadata({ name: 'pw', secretKeyRef: { name: 'redis', key: 'password' } })) });
    feeds.Component.handle({ type: 'add', object: component('plain', withVersion('1'), withMetadata({ name: 'host', value: 'localhost' })) });
    await settle();
    assert.deepEqual(secretReads, ['ns1/redis']);
    for (const index of [0, 1]) {
      const first = calls[0]?.written[index]?.['component'];
      assert.ok(Buffer.isBuffer(first));
      assert.ok(calls.every((call) => call.written[index]?.['component'] === first), `event ${index}: one Buffer shared by every stream`);
    }
    assert.equal(((decode(calls[19]?.written[0]?.['component']).spec?.['metadata'] as Array<{ value: unknown }>)[0])?.value, b64('pw'));
  });

  test('many open streams add one abort listener to the shutdown signal, not one each', () => {
    const { api, shutdown } = setup();
    for (let i = 0; i < 20; i += 1) (api['ComponentUpdate'] as Handler)(fakeCall({ namespace: 'ns1' }, APP_A));
    assert.equal(getEventListeners(shutdown.signal, 'abort').length, 1);
  });

  test('cancelling unsubscribes; shutdown ends open streams with UNAVAILABLE', () => {
    const { api, feeds, shutdown } = setup();
    const first = fakeCall({ namespace: 'ns1' }, APP_A);
    const second = fakeCall({ namespace: 'ns1' }, APP_A);
    (api['ComponentUpdate'] as Handler)(first);
    (api['ComponentUpdate'] as Handler)(second);
    assert.equal(feeds.Component.subscribers, 2);
    first.cancel();
    assert.equal(feeds.Component.subscribers, 1);
    shutdown.abort();
    assert.equal((second.endedWith as { code: status }).code, status.UNAVAILABLE);
    assert.equal(feeds.Component.subscribers, 0);
  });
});

test('HTTPEndpointUpdate events carry no type (v1.17 proto)', async () => {
  const { api, feeds } = setup();
  const call = fakeCall({ namespace: 'ns1' }, APP_A);
  (api['HTTPEndpointUpdate'] as Handler)(call);
  feeds.HTTPEndpoint.handle({ type: 'add', object: { metadata: { name: 'h', namespace: 'ns1', resourceVersion: '1' }, spec: { baseUrl: 'https://x' } } });
  await settle();
  assert.deepEqual(Object.keys(call.written[0] ?? {}), ['http_endpoints']);
});
