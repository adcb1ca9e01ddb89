import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { silentLogger } from '@tsdapr/runtime';
import { validateComponent } from './component-validation.js';
import { convertSubscription, handleConversionReview } from './subscription-conversion.js';
import { webhookApp } from './webhook-server.js';

const v1 = { apiVersion: 'dapr.io/v1alpha1', kind: 'Subscription', metadata: { name: 's' }, spec: { pubsubname: 'p', topic: 't', route: '/orders' }, scopes: ['a'] };
const v2 = { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 's' }, spec: { pubsubname: 'p', topic: 't', routes: { default: '/orders' } }, scopes: ['a'] };

describe('subscription conversion', () => {
  test('v1alpha1 -> v2alpha1: route becomes routes.default', () => assert.deepEqual(convertSubscription(v1, 'dapr.io/v2alpha1'), v2));
  test('v2alpha1 -> v1alpha1: routes.default becomes route; rules are dropped', () => {
    const withRules = { ...v2, spec: { ...v2.spec, routes: { default: '/orders', rules: [{ match: 'x', path: '/x' }] } } };
    assert.deepEqual(convertSubscription(withRules, 'dapr.io/v1alpha1'), v1);
  });
  test('a ConversionReview is answered with the uid and converted objects', () => {
    const response = handleConversionReview({ request: { uid: 'u1', desiredAPIVersion: 'dapr.io/v2alpha1', objects: [v1] } }) as { response: { uid: string; convertedObjects: unknown[]; result: { status: string } } };
    assert.equal(response.response.uid, 'u1');
    assert.equal(response.response.result.status, 'Success');
    assert.deepEqual(response.response.convertedObjects, [v2]);
  });
  test('an unknown version fails with a message', () => {
    const response = handleConversionReview({ request: { uid: 'u2', desiredAPIVersion: 'dapr.io/v3', objects: [v1] } }) as { response: { result: { status: string; message: string } } };
    assert.equal(response.response.result.status, 'Failure');
    assert.match(response.response.result.message, /cannot convert to "dapr.io\/v3"/);
  });
});

describe('component validation beyond CEL', () => {
  const facts = { appIds: new Set(['orders']), secretExists: (name: string) => name === 'redis' };
  const cases: Array<[string, Parameters<typeof validateComponent>[0], string | undefined, RegExp[]]> = [
    ['a clean component', { spec: { type: 'state.redis', metadata: [{ name: 'a', value: '1' }] }, scopes: ['orders'] }, undefined, []],
    // Issue #19: everything below is admitted (upstream admits it and daprd 1.17 loads it), with a warning where it is suspicious.
    ['the same metadata name twice: daprd uses the last (checked with daprd 1.17.5: bindings.cron failed on the second schedule)', { spec: { type: 'bindings.kafka', metadata: [{ name: 'backOffDuration', value: '1s' }, { name: 'x', value: '1' }, { name: 'backOffDuration', value: '2s' }] } }, undefined, [/"backOffDuration" is set 2 times \(spec.metadata\[0\], spec.metadata\[2\]\); daprd uses the last, spec.metadata\[2\]/]],
    ['a name-only entry the type does not need (no password): no warning', { spec: { type: 'bindings.redis', metadata: [{ name: 'redisHost', value: 'r:6379' }, { name: 'redisPassword' }] } }, undefined, []],
    ['a name-only entry the type needs', { spec: { type: 'state.redis', metadata: [{ name: 'redisHost' }] } }, undefined, [/spec.metadata\[0\] \("redisHost"\) has no value.*state.redis needs/]],
    ['an entry with value and envRef: daprd uses the value', { spec: { metadata: [{ name: 'a', value: 'x', envRef: 'A' }] } }, undefined, [/daprd uses the value and ignores envRef "A"/]],
    ['an entry with secretKeyRef and envRef: daprd reads the env var', { spec: { metadata: [{ name: 'a', secretKeyRef: { name: 'redis' }, envRef: 'A' }] } }, undefined, [/daprd reads environment variable "A" and ignores the secretKeyRef/]],
    ['an unknown type category', { spec: { type: 'exporters.native', metadata: [] } }, undefined, [/spec.type "exporters.native" has no category daprd 1.17 knows.*"incorrect type exporters.native"\) and exits/]],
    ['a documentation placeholder type', { spec: { type: 'state.<DATABASE>', metadata: [] } }, undefined, []],
    ['an unknown category with ignoreErrors', { spec: { type: 'redis', ignoreErrors: true, metadata: [] } }, undefined, [/goes on without it/]],
    ['an initTimeout that is not a duration', { spec: { type: 'state.redis', initTimeout: '30 seconds', metadata: [] } }, undefined, [/daprd ignores it and waits the default 5s/]],
    ['a scope no workload uses', { spec: { metadata: [] }, scopes: ['ordres'] }, undefined, [/no Dapr-enabled workload in this namespace has app id "ordres"/]],
    ['a secretKeyRef to a missing Secret', { spec: { metadata: [{ name: 'pw', secretKeyRef: { name: 'gone' } }] } }, undefined, [/Secret "gone" does not exist/]],
    ['a secretKeyRef with another secret store', { spec: { metadata: [{ name: 'pw', secretKeyRef: { name: 'gone' } }] }, auth: { secretStore: 'vault' } }, undefined, []],
  ];
  for (const [name, component, denied, warnings] of cases) {
    test(name, () => {
      const result = validateComponent(component, facts);
      if (denied) assert.ok(result.denied?.includes(denied), result.denied);
      else assert.equal(result.denied, undefined);
      assert.equal(result.warnings.length, warnings.length, result.warnings.join('; '));
      warnings.forEach((pattern, i) => assert.match(result.warnings[i] ?? '', pattern));
    });
  }
});

describe('the admission answer leaks nothing about the cluster (issue #14)', () => {
  // A Secret that does not exist, a scope no workload uses and a duplicate entry.
  const probing = {
    spec: { type: 'state.redis', metadata: [{ name: 'redisHost', value: 'a:6379' }, { name: 'redisHost', value: 'b:6379' }, { name: 'redisPassword', secretKeyRef: { name: 'prod-db-password' } }] },
    scopes: ['payments'],
  };

  test('without cluster facts, validateComponent says only what the object shows', () => {
    assert.deepEqual(
      validateComponent(probing).warnings.map((w) => w.split(':')[0]),
      ['spec.metadata'],
    );
    // With facts (the Component status), the cluster checks are there.
    const withFacts = validateComponent(probing, { appIds: new Set(['orders']), secretExists: () => false }).warnings;
    assert.ok(withFacts.some((w) => w.includes('Secret "prod-db-password" does not exist')), withFacts.join('; '));
    assert.ok(withFacts.some((w) => w.includes('app id "payments"')), withFacts.join('; '));
  });

  test('POST /validate answers the same for a Secret that exists and one that does not, and names no app id', async (t) => {
    const server = webhookApp({ logger: silentLogger() }).listen(0, '127.0.0.1');
    t.after(() => server.close());
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const review = async (object: unknown): Promise<{ uid: string; allowed: boolean; warnings?: string[] }> => {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/validate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', namespace: 'team-a', kind: { kind: 'Component' }, userInfo: { username: 'mallory' }, object } }),
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(response.status, 200);
      return ((await response.json()) as { response: { uid: string; allowed: boolean; warnings?: string[] } }).response;
    };
    const answer = await review(probing);
    assert.equal(answer.uid, 'u1');
    assert.equal(answer.allowed, true);
    assert.equal(answer.warnings?.length, 1, answer.warnings?.join('; '));
    assert.match(answer.warnings?.[0] ?? '', /"redisHost" is set 2 times/);
    const joined = JSON.stringify(answer);
    assert.doesNotMatch(joined, /prod-db-password|payments|Secret|app id/);
    // Another Secret name gets the identical answer.
    const other = await review({ ...probing, spec: { ...probing.spec, metadata: [...probing.spec.metadata.slice(0, 2), { name: 'redisPassword', secretKeyRef: { name: 'does-exist' } }] } });
    assert.deepEqual(other, answer);
  });
});
