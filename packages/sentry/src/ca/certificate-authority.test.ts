import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controlPlaneDnsNames } from './certificate-authority.js';

test('control-plane identities in sentry namespace get the webhook DNS names upstream adds', () => {
  assert.deepEqual(controlPlaneDnsNames('dapr-injector', 'dapr-system', 'dapr-system'), ['dapr-sidecar-injector.dapr-system.svc']);
  assert.deepEqual(controlPlaneDnsNames('dapr-operator', 'dapr-system', 'dapr-system'), ['dapr-webhook.dapr-system.svc']);
  assert.equal(controlPlaneDnsNames('dapr-scheduler', 'dapr-system', 'dapr-system').length, 3);
  assert.deepEqual(controlPlaneDnsNames('dapr-injector', 'apps', 'dapr-system'), []);
  assert.deepEqual(controlPlaneDnsNames('orders', 'dapr-system', 'dapr-system'), []);
});
