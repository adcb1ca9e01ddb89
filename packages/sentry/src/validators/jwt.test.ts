import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, kubernetesTokenClaims } from './jwt.js';
import { unsignedJwt } from './test-support.js';

test('decodeJwt splits and parses; errors never echo the token', () => {
  const token = unsignedJwt({ sub: 'x', n: 1 });
  const jwt = decodeJwt(token);
  assert.equal(jwt.header['alg'], 'RS256');
  assert.deepEqual(jwt.payload, { sub: 'x', n: 1 });
  assert.equal(jwt.signingInput, token.split('.').slice(0, 2).join('.'));
  assert.equal(jwt.signature.toString(), 'sig');

  const secret = 'super-secret-token-value';
  const bad: Array<[string, RegExp]> = [
    [secret, /expected 3 dot-separated parts, found 1/],
    [`${secret}.a.b.c`, /found 4/],
    ['a+b.c.d', /not base64url/],
    [`${Buffer.from('not json').toString('base64url')}.e30.c2ln`, /header is not JSON/],
    [`e30.${Buffer.from('[1]').toString('base64url')}.c2ln`, /payload is not a JSON object/],
  ];
  for (const [input, message] of bad) {
    assert.throws(
      () => decodeJwt(input),
      (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'token_malformed');
        assert.match((err as Error).message, message);
        assert.doesNotMatch((err as Error).message, /super-secret/);
        return true;
      },
    );
  }
});

test('kubernetesTokenClaims: nested form from a real apiserver', () => {
  const payload = {
    aud: ['dapr.io/sentry'],
    sub: 'system:serviceaccount:ns:sa',
    'kubernetes.io': {
      namespace: 'ns',
      node: { name: 'n1', uid: 'node-uid' },
      pod: { name: 'app-7d9', uid: 'pod-uid' },
      serviceaccount: { name: 'sa', uid: 'sa-uid' },
      warnafter: 1700000000,
    },
  };
  assert.deepEqual(kubernetesTokenClaims(payload), { namespace: 'ns', podName: 'app-7d9', podUid: 'pod-uid', serviceAccountName: 'sa' });
});

test('kubernetesTokenClaims: flat keys, missing and odd values', () => {
  assert.deepEqual(kubernetesTokenClaims({ 'kubernetes.io/pod/name': 'p', 'kubernetes.io/pod/uid': 'u', 'kubernetes.io/namespace': 'ns' }), {
    namespace: 'ns',
    podName: 'p',
    podUid: 'u',
  });
  // A legacy secret-based token has no pod.
  assert.deepEqual(kubernetesTokenClaims({ 'kubernetes.io/serviceaccount/namespace': 'ns', sub: 'system:serviceaccount:ns:default' }), {});
  assert.deepEqual(kubernetesTokenClaims({ 'kubernetes.io': { pod: { name: 42, uid: '' } } }), {});
  assert.deepEqual(kubernetesTokenClaims({ 'kubernetes.io': 'nope' }), {});
  assert.deepEqual(kubernetesTokenClaims({ 'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'sa' } } }), { namespace: 'ns', serviceAccountName: 'sa' });
});
