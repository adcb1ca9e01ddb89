import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SENTRY_CONFIG, sentryConfigFromConfiguration } from './sentry-config.js';

test('defaults when spec.mtls is absent', () => {
  assert.deepEqual(sentryConfigFromConfiguration({ kind: 'Configuration', spec: {} }, 'x'), DEFAULT_SENTRY_CONFIG);
});

test('reads TTL, skew and token validators', () => {
  const config = sentryConfigFromConfiguration(
    { spec: { mtls: { enabled: true, workloadCertTTL: '1h', allowedClockSkew: '5m', tokenValidators: [{ name: 'jwks', options: { source: '/x' } }] } } },
    'x',
  );
  assert.equal(config.workloadCertTtlMs, 3_600_000);
  assert.equal(config.allowedClockSkewMs, 300_000);
  assert.deepEqual(config.tokenValidators, [{ name: 'jwks', options: { source: '/x' } }]);
});

test('a bad field is an error that names the object and the field', () => {
  assert.throws(() => sentryConfigFromConfiguration({ spec: { mtls: { workloadCertTTL: '1 day' } } }, 'Configuration dapr-system/daprsystem'), /Configuration dapr-system\/daprsystem: spec.mtls.workloadCertTTL: invalid duration "1 day"/);
  assert.throws(() => sentryConfigFromConfiguration({ spec: { mtls: { workloadCertTTL: '0s' } } }, 'c'), /must be positive/);
  assert.throws(() => sentryConfigFromConfiguration({ spec: { mtls: { tokenValidators: [{ options: {} }] } } }, 'c'), /tokenValidators/);
});
