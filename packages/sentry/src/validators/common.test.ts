import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCommon, isValidTrustDomain, requestedTrustDomain, validatedIdentity } from './common.js';
import { ValidationError } from './validator.js';

test('checkCommon: table', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['app-1', 'default', undefined],
    ['a', 'ns', undefined],
    ['A_b-9', 'my-ns', undefined],
    ['x'.repeat(64), 'ns', undefined],
    ['x'.repeat(65), 'ns', 'id_invalid'],
    ['', 'ns', 'id_invalid'],
    ['my.app', 'ns', 'id_invalid'],
    ['a/b', 'ns', 'id_invalid'],
    ['a b', 'ns', 'id_invalid'],
    ['app', '', 'namespace_empty'],
    ['app', 'a/b', 'namespace_invalid'],
  ];
  for (const [id, namespace, code] of cases) {
    if (code === undefined) assert.doesNotThrow(() => checkCommon({ id, namespace }), `${id} ${namespace}`);
    else {
      assert.throws(
        () => checkCommon({ id, namespace }),
        (err: unknown) => err instanceof ValidationError && err.code === code,
        `${id} ${namespace} -> ${code}`,
      );
    }
  }
});

test('checkCommon: upstream wording', () => {
  assert.throws(() => checkCommon({ id: '', namespace: 'ns' }), { message: 'invalid request: parameter app-id cannot be empty' });
  assert.throws(() => checkCommon({ id: 'a.b', namespace: 'ns' }), { message: 'invalid request: parameter app-id cannot contain dots' });
  assert.throws(() => checkCommon({ id: 'x'.repeat(65), namespace: 'ns' }), { message: 'invalid request: app ID must be 64 characters or less' });
  assert.throws(() => checkCommon({ id: 'a', namespace: '' }), { message: 'invalid request: namespace is required' });
});

test('trust domains', () => {
  assert.equal(requestedTrustDomain({ trustDomain: '' }), 'public');
  assert.equal(requestedTrustDomain({ trustDomain: 'cluster.local' }), 'cluster.local');
  assert.throws(() => requestedTrustDomain({ trustDomain: 'Bad/Domain' }), { code: 'trust_domain_invalid' });
  assert.equal(isValidTrustDomain('example.org'), true);
  assert.equal(isValidTrustDomain('UPPER'), false);
  assert.equal(isValidTrustDomain(''), false);
  assert.deepEqual(validatedIdentity('public', 'ns', 'app'), {
    trustDomain: 'public',
    namespace: 'ns',
    id: 'app',
    spiffeId: 'spiffe://public/ns/ns/app',
  });
});
