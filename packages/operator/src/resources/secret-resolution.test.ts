import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { component, withMetadata, withSecretStore } from '../testing/fixtures.js';
import { resolveComponentSecrets, resolveConfigurationSecrets, resolveHttpEndpointSecrets, SecretResolutionError, type SecretReader } from './secret-resolution.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const secrets: Record<string, Record<string, string>> = { 'ns1/redis': { password: b64('s3cret'), redis: b64('by-name') } };
const reads: string[] = [];
const read: SecretReader = async (namespace, name) => {
  reads.push(`${namespace}/${name}`);
  return secrets[`${namespace}/${name}`];
};
const metadataOf = (r: { spec?: Record<string, unknown> }): Array<Record<string, unknown>> => r.spec?.['metadata'] as Array<Record<string, unknown>>;

describe('component secret resolution (upstream encoding)', () => {
  test('a secretKeyRef value becomes a JSON string with the base64 of the secret bytes', async () => {
    const resolved = await resolveComponentSecrets(component('db', withMetadata({ name: 'pw', secretKeyRef: { name: 'redis', key: 'password' } })), 'ns1', read);
    assert.deepEqual(metadataOf(resolved)[0], { name: 'pw', secretKeyRef: { name: 'redis', key: 'password' }, value: b64('s3cret') });
  });
  test('without a key the secret name is the key', async () => {
    const resolved = await resolveComponentSecrets(component('db', withMetadata({ name: 'pw', secretKeyRef: { name: 'redis' } })), 'ns1', read);
    assert.equal(metadataOf(resolved)[0]?.['value'], b64('by-name'));
  });
  test('a missing key leaves the entry as it is, without an error', async () => {
    const entry = { name: 'pw', secretKeyRef: { name: 'redis', key: 'nope' } };
    const resolved = await resolveComponentSecrets(component('db', withMetadata(entry)), 'ns1', read);
    assert.deepEqual(metadataOf(resolved)[0], entry);
  });
  test('a missing Secret is an error that names it', async () => {
    await assert.rejects(resolveComponentSecrets(component('db', withMetadata({ name: 'pw', secretKeyRef: { name: 'gone', key: 'k' } })), 'ns1', read), (err: unknown) => {
      assert.ok(err instanceof SecretResolutionError);
      assert.equal(err.code, 'secret_not_found');
      assert.equal(err.secretName, 'gone');
      assert.match(err.message, /component ns1\/db: Secret ns1\/gone referenced by "pw" does not exist/);
      return true;
    });
  });
  test('another secret store: nothing is read or changed', async () => {
    reads.length = 0;
    const input = component('db', withSecretStore('vault'), withMetadata({ name: 'pw', secretKeyRef: { name: 'gone', key: 'k' } }));
    assert.equal(await resolveComponentSecrets(input, 'ns1', read), input);
    assert.deepEqual(reads, []);
  });
  test('a Component without a secretKeyRef comes back as the same object (a change is then serialized once for every stream)', async () => {
    const input = component('db', withMetadata({ name: 'host', value: 'localhost' }));
    assert.equal(await resolveComponentSecrets(input, 'ns1', read), input);
  });

  test('secrets are read in the request namespace', async () => {
    reads.length = 0;
    await resolveComponentSecrets(component('db', withMetadata({ name: 'pw', secretKeyRef: { name: 'redis', key: 'password' } })), 'ns1', read);
    assert.deepEqual(reads, ['ns1/redis']);
  });
});

test('HTTPEndpoint headers and clientTLS documents are resolved', async () => {
  const endpoint = { metadata: { name: 'h', namespace: 'ns1' }, spec: { baseUrl: 'https://x', headers: [{ name: 'tok', secretKeyRef: { name: 'redis', key: 'password' } }], clientTLS: { rootCA: { secretKeyRef: { name: 'redis', key: 'password' } } } } };
  const resolved = await resolveHttpEndpointSecrets(endpoint, 'ns1', read);
  assert.equal((resolved.spec?.['headers'] as Array<{ value: unknown }>)[0]?.value, b64('s3cret'));
  assert.equal((resolved.spec?.['clientTLS'] as { rootCA: { value: unknown } }).rootCA.value, b64('s3cret'));
});

test('Configuration tracing headers get the raw secret value, not base64', async () => {
  const configuration = { metadata: { name: 'cfg', namespace: 'ns1' }, spec: { tracing: { otel: { headers: [{ name: 'auth', secretKeyRef: { name: 'redis', key: 'password' } }] } } } };
  const resolved = await resolveConfigurationSecrets(configuration, 'ns1', read);
  assert.equal((resolved.spec?.['tracing'] as { otel: { headers: Array<{ value: unknown }> } }).otel.headers[0]?.value, 's3cret');
});
