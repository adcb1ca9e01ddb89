import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSentryOptions } from './options.js';

test('upstream defaults', () => {
  const options = parseSentryOptions([], {});
  assert.equal(options.port, 50001);
  assert.equal(options.healthz.port, 8080);
  assert.equal(options.metrics.port, 9090);
  assert.equal(options.trustDomain, 'localhost');
  assert.equal(options.mode, 'standalone');
  assert.deepEqual(options.bundleKeys, { trustAnchors: 'ca.crt', issuerCert: 'issuer.crt', issuerKey: 'issuer.key' });
});

test('the namespace comes from NAMESPACE, as in a pod', () => {
  assert.equal(parseSentryOptions([], { NAMESPACE: 'dapr-system' }).namespace, 'dapr-system');
});

test('bad values are errors naming the flag', () => {
  assert.throws(() => parseSentryOptions(['--mode', 'cloud'], {}), /--mode must be "kubernetes" or "standalone"/);
  assert.throws(() => parseSentryOptions(['--port', '70000'], {}), /--port must be a port number/);
  assert.throws(() => parseSentryOptions(['--root-key-algorithm', 'rsa'], {}), /--root-key-algorithm/);
});
