import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOperatorOptions } from '../options.js';
import type { V1ValidatingWebhook, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { caBundlePatch, desiredValidatingWebhookConfiguration, ownedWebhookFields, webhookClientConfig, WebhookRegistrationError } from './webhook-registration.js';

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

/** A configuration as the chart renders it (no caBundle), with webhooks as named. */
function chartConfiguration(...webhooks: { name: string; caBundle?: string }[]): V1ValidatingWebhookConfiguration {
  const hook = (w: { name: string; caBundle?: string }): V1ValidatingWebhook => ({
    name: w.name,
    clientConfig: { service: { namespace: 'dapr-system', name: 'dapr-webhook', path: '/validate', port: 443 }, ...(w.caBundle === undefined ? {} : { caBundle: w.caBundle }) },
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
  });
  return { metadata: { name: 'dapr-operator' }, webhooks: webhooks.map(hook) };
}

test("in Service mode only the caBundle of the chart's Components webhook is patched, found by name and tested before the write", () => {
  const cases: { name: string; configuration: V1ValidatingWebhookConfiguration; expected: unknown }[] = [
    {
      name: 'as installed: no caBundle yet',
      configuration: chartConfiguration({ name: 'components.validation.dapr.io' }),
      expected: [
        { op: 'test', path: '/webhooks/0/name', value: 'components.validation.dapr.io' },
        { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'bmV3' },
      ],
    },
    { name: 'already current: no write', configuration: chartConfiguration({ name: 'components.validation.dapr.io', caBundle: 'bmV3' }), expected: undefined },
    {
      name: 'an old bundle, and a webhook someone added before ours',
      configuration: chartConfiguration({ name: 'other.example.com' }, { name: 'components.validation.dapr.io', caBundle: 'b2xk' }),
      expected: [
        { op: 'test', path: '/webhooks/1/name', value: 'components.validation.dapr.io' },
        { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: 'bmV3' },
      ],
    },
  ];
  for (const c of cases) assert.deepEqual(caBundlePatch(c.configuration, 'bmV3'), c.expected, c.name);
});

test('a configuration without the Components webhook is an error with a stable code, not a patch of another webhook', () => {
  for (const configuration of [chartConfiguration({ name: 'other.example.com' }), { metadata: { name: 'dapr-operator' } }]) {
    assert.throws(
      () => caBundlePatch(configuration, 'bmV3'),
      (err: unknown) => err instanceof WebhookRegistrationError && err.code === 'validating_webhook_missing' && /dapr-operator has no webhook components\.validation\.dapr\.io/.test(err.message),
    );
  }
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
