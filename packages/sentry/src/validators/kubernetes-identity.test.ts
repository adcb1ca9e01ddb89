import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import {
  checkExpectedId,
  configurationName,
  expectedPodIdentity,
  parseServiceAccountUsername,
  trustDomainFromConfiguration,
} from './kubernetes-identity.js';
import { ValidationError } from './validator.js';

type PodOption = (pod: V1Pod) => void;
const withAnnotation =
  (key: string, value: string): PodOption =>
  (pod) => {
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, [key]: value } };
  };
const inNamespace =
  (namespace: string): PodOption =>
  (pod) => {
    pod.metadata = { ...pod.metadata, namespace };
  };
function pod(name: string, ...options: PodOption[]): V1Pod {
  const p: V1Pod = { metadata: { name, namespace: 'default', uid: `${name}-uid` }, spec: { containers: [], serviceAccountName: 'default' } };
  for (const option of options) option(p);
  return p;
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof ValidationError ? err.code : 'not-a-validation-error';
  }
};

test('parseServiceAccountUsername', () => {
  assert.deepEqual(parseServiceAccountUsername('system:serviceaccount:ns:sa'), { namespace: 'ns', name: 'sa' });
  for (const bad of ['', 'admin', 'system:serviceaccount:ns', 'system:serviceaccount:ns:sa:extra', 'user:serviceaccount:ns:sa', 'system:serviceaccount::sa']) {
    assert.equal(code(() => parseServiceAccountUsername(bad)), 'token_bad_username', bad);
  }
  assert.throws(() => parseServiceAccountUsername('admin'), { message: 'provided token is not a properly structured service account token' });
});

test('expectedPodIdentity: table', () => {
  const cases: Array<[string, V1Pod, { id: string; controlPlane: boolean } | string]> = [
    ['app-id annotation', pod('web-5d8', withAnnotation('dapr.io/app-id', 'web')), { id: 'web', controlPlane: false }],
    ['pod name without app-id', pod('web-5d8'), { id: 'web-5d8', controlPlane: false }],
    ['control plane', pod('dapr-placement-0', inNamespace('dapr-system'), withAnnotation('dapr.io/control-plane', 'placement')), { id: 'dapr-placement', controlPlane: true }],
    ['control plane elsewhere', pod('p', inNamespace('default'), withAnnotation('dapr.io/control-plane', 'placement')), 'control_plane_pod_invalid'],
    ['unknown control plane service', pod('p', inNamespace('dapr-system'), withAnnotation('dapr.io/control-plane', 'dashboard')), 'control_plane_pod_invalid'],
    [
      'control plane with app-id',
      pod('p', inNamespace('dapr-system'), withAnnotation('dapr.io/control-plane', 'sentry'), withAnnotation('dapr.io/app-id', 'x')),
      'control_plane_pod_invalid',
    ],
  ];
  for (const [name, input, want] of cases) {
    if (typeof want === 'string') assert.equal(code(() => expectedPodIdentity(input, 'dapr-system')), want, name);
    else assert.deepEqual(expectedPodIdentity(input, 'dapr-system'), want, name);
  }
  assert.throws(() => expectedPodIdentity(pod('p', withAnnotation('dapr.io/control-plane', 'operator')), 'dapr-system'), {
    message: "control plane service in namespace 'default' is not allowed",
  });
});

test('checkExpectedId message', () => {
  assert.doesNotThrow(() => checkExpectedId('web', 'web'));
  assert.throws(() => checkExpectedId('web', 'other'), { code: 'app_id_mismatch', message: 'app-id mismatch. expected: web, received: other' });
});

test('configurationName: absent, present, present but empty (issue #8320)', () => {
  assert.equal(configurationName(pod('p')), undefined);
  assert.equal(configurationName(pod('p', withAnnotation('dapr.io/config', 'appconfig'))), 'appconfig');
  assert.throws(
    () => configurationName(pod('p', withAnnotation('dapr.io/config', ''))),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.code, 'configuration_annotation_empty');
      assert.match(err.message, /^failed to get configuration: pod default\/p has an empty "dapr\.io\/config" annotation/);
      assert.match(err.message, /remove the annotation/);
      return true;
    },
  );
});

test('trustDomainFromConfiguration', () => {
  assert.equal(trustDomainFromConfiguration({}), 'public');
  assert.equal(trustDomainFromConfiguration({ spec: {} }), 'public');
  assert.equal(trustDomainFromConfiguration({ spec: { accessControl: {} } }), 'public');
  assert.equal(trustDomainFromConfiguration({ spec: { accessControl: { trustDomain: '' } } }), 'public');
  assert.equal(trustDomainFromConfiguration({ spec: { accessControl: { trustDomain: 'example.org' } } }), 'example.org');
  assert.equal(code(() => trustDomainFromConfiguration({ metadata: { name: 'c', namespace: 'ns' }, spec: { accessControl: { trustDomain: 'Not OK' } } })), 'trust_domain_invalid');
  assert.equal(code(() => trustDomainFromConfiguration({ spec: { accessControl: { trustDomain: 7 } } })), 'trust_domain_invalid');
});
