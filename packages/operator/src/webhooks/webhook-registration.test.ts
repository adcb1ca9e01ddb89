import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOperatorOptions } from '../options.js';
import { desiredValidatingWebhookConfiguration, ownedWebhookFields, webhookClientConfig } from './webhook-registration.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('in a cluster the webhooks are reached through the dapr-webhook Service on 443, trusting the anchors', () => {
  const config = webhookClientConfig({ mode: 'service', serviceName: 'dapr-webhook', validatingConfigurationName: 'dapr-operator', resyncMs: 1 }, 'dapr-system', '/convert', PEM);
  assert.deepEqual(config, { service: { namespace: 'dapr-system', name: 'dapr-webhook', path: '/convert', port: 443 }, caBundle: Buffer.from(PEM).toString('base64') });
});

test('locally by URL', () => {
  const config = webhookClientConfig({ mode: 'url', baseUrl: 'https://localhost:1234', validatingConfigurationName: 'x', resyncMs: 1 }, 'dapr-system', '/validate', PEM);
  assert.equal(config.url, 'https://localhost:1234/validate');
  assert.equal(config.service, undefined);
});

test('the ValidatingWebhookConfiguration: Components only, Ignore on failure, one namespace with --watch-namespace', () => {
  const config = desiredValidatingWebhookConfiguration('dapr-operator', { url: 'https://localhost:1/validate', caBundle: 'Y2E=' }, 'team-a');
  const webhook = config.webhooks?.[0];
  assert.equal(webhook?.failurePolicy, 'Ignore');
  assert.equal(webhook?.sideEffects, 'None');
  assert.deepEqual(webhook?.rules, [{ apiGroups: ['dapr.io'], apiVersions: ['v1alpha1'], resources: ['components'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }]);
  assert.deepEqual(webhook?.namespaceSelector, { matchLabels: { 'kubernetes.io/metadata.name': 'team-a' } });
  assert.deepEqual(desiredValidatingWebhookConfiguration('d', { url: 'u', caBundle: 'c' }).webhooks?.[0]?.namespaceSelector, {});
  const rotated = desiredValidatingWebhookConfiguration('dapr-operator', { url: 'https://localhost:1/validate', caBundle: 'bmV3' }, 'team-a');
  assert.notEqual(ownedWebhookFields(config.webhooks), ownedWebhookFields(rotated.webhooks), 'a new caBundle is a difference');
  assert.equal(ownedWebhookFields(config.webhooks), ownedWebhookFields(structuredClone(config.webhooks)));
});

test('registration flags', () => {
  const parse = (...argv: string[]): ReturnType<typeof parseOperatorOptions>['webhook']['registration'] => parseOperatorOptions(argv, {}).webhook.registration;
  assert.deepEqual(parse(), { mode: 'service', serviceName: 'dapr-webhook', validatingConfigurationName: 'dapr-operator', resyncMs: 300_000 });
  assert.deepEqual(parse('--webhook-registration', 'url', '--webhook-port', '4443'), { mode: 'url', baseUrl: 'https://localhost:4443', validatingConfigurationName: 'dapr-operator', resyncMs: 300_000 });
  assert.deepEqual(parse('--webhook-registration', 'url', '--webhook-url', 'https://op.local:9/', '--webhook-registration-resync-period', '2s'), { mode: 'url', baseUrl: 'https://op.local:9', validatingConfigurationName: 'dapr-operator', resyncMs: 2000 });
  assert.deepEqual(parse('--enable-webhooks=false'), { mode: 'none' });
  assert.throws(() => parse('--webhook-registration', 'url', '--webhook-url', 'https://127.0.0.1:9'), /must name a host such as localhost, not an IP address/);
  assert.throws(() => parse('--webhook-registration', 'url', '--webhook-url', 'http://localhost:9'), /must be an https:\/\/ URL/);
  assert.throws(() => parse('--webhook-registration', 'sometimes'), /must be service, url or none/);
});
