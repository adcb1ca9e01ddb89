import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInsecureValidator } from './insecure-validator.js';
import { request } from './test-support.js';

test('insecure: common checks only; trust domain from the request or public', async () => {
  const validator = createInsecureValidator();
  assert.equal(validator.name, 'insecure');
  assert.equal(validator.ready(), true);
  assert.equal(validator.runner, undefined);
  assert.deepEqual(await validator.validate(request()), {
    trustDomain: 'public',
    namespace: 'default',
    id: 'app-1',
    spiffeId: 'spiffe://public/ns/default/app-1',
  });
  assert.equal((await validator.validate(request({ id: 'dapr-placement', namespace: 'dapr-system', trustDomain: 'cluster.local' }))).spiffeId, 'spiffe://cluster.local/ns/dapr-system/dapr-placement');
  assert.equal((await validator.validate(request({ token: 'ignored' }))).trustDomain, 'public');
  await assert.rejects(validator.validate(request({ id: 'a.b' })), { code: 'id_invalid' });
  await assert.rejects(validator.validate(request({ namespace: '' })), { code: 'namespace_empty' });
  await assert.rejects(validator.validate(request({ trustDomain: 'NOT valid' })), { code: 'trust_domain_invalid' });
});
