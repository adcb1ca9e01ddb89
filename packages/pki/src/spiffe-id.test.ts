import assert from 'node:assert/strict';
import { X509Certificate, webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { generateCaBundle } from './ca-bundle.js';
import { NOW, SENTRY_ID } from './fixtures.js';
import { isSpiffeId, spiffeIdFromCert } from './spiffe-id.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

describe('isSpiffeId', () => {
  const cases: [string, boolean][] = [
    ['spiffe://public/ns/default/app', true],
    ['spiffe://cluster.local/ns/dapr-system/dapr-sentry', true],
    ['spiffe://my_td/a/b.c/d-e/F_G', true],
    ['spiffe://public', false],
    ['spiffe://public/', false],
    ['spiffe:///ns/x/y', false],
    ['spiffe://Public/ns/x/y', false],
    ['spiffe://public/ns/./y', false],
    ['spiffe://public/ns/../y', false],
    ['spiffe://public/ns//y', false],
    ['spiffe://public/ns/x/y/', false],
    ['spiffe://public/ns/x/y?q=1', false],
    ['spiffe://public/ns/x/y#f', false],
    ['spiffe://user@public/ns/x/y', false],
    ['spiffe://public:443/ns/x/y', false],
    ['https://public/ns/x/y', false],
    [`spiffe://public/${'a'.repeat(2048)}`, false],
  ];
  for (const [id, valid] of cases) {
    it(`${id.slice(0, 60)} is ${valid ? 'valid' : 'invalid'}`, () => assert.equal(isSpiffeId(id), valid));
  }
});

async function certWithSans(names: x509.JsonGeneralNames | undefined): Promise<Buffer> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'O=test',
    notBefore: NOW,
    notAfter: new Date(NOW.getTime() + 3_600_000),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: names ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return Buffer.from(cert.rawData);
}

describe('spiffeIdFromCert', () => {
  it('reads the single URI SAN of a Node X509Certificate or of DER', async () => {
    const der = await certWithSans([{ type: 'url', value: 'spiffe://public/ns/default/app' }, { type: 'dns', value: 'app.default.svc' }]);
    assert.equal(spiffeIdFromCert(der), 'spiffe://public/ns/default/app');
    assert.equal(spiffeIdFromCert(new X509Certificate(der)), 'spiffe://public/ns/default/app');
  });

  const none: [string, x509.JsonGeneralNames | undefined][] = [
    ['no SAN extension', undefined],
    ['only DNS SANs', [{ type: 'dns', value: 'a.svc' }]],
    ['two URI SANs', [{ type: 'url', value: 'spiffe://a/ns/b/c' }, { type: 'url', value: 'spiffe://a/ns/b/d' }]],
    ['a non-SPIFFE URI', [{ type: 'url', value: 'https://example.com/x' }]],
  ];
  for (const [name, names] of none) {
    it(`is undefined with ${name}`, async () => assert.equal(spiffeIdFromCert(await certWithSans(names)), undefined));
  }

  it('is undefined for a CA certificate and for bytes that are not a certificate', () => {
    const bundle = generateCaBundle({ trustDomain: 'cluster.local', sentrySpiffeId: SENTRY_ID, algorithm: 'ed25519', now: NOW });
    assert.equal(spiffeIdFromCert(new X509Certificate(bundle.issuerChainPem)), undefined);
    assert.equal(spiffeIdFromCert(Buffer.from('garbage')), undefined);
    assert.equal(spiffeIdFromCert(Buffer.alloc(0)), undefined);
  });
});
