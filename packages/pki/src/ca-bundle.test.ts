import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { generateCaBundle } from './ca-bundle.js';
import { DAY, NOW, SENTRY_ID, openssl, withTempDir, write } from './fixtures.js';
import { loadIssuer } from './issuer.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const SKEW = 15 * 60_000;

describe('generateCaBundle', () => {
  for (const algorithm of ['ecdsa-p256', 'ed25519'] as const) {
    describe(algorithm, () => {
      const bundle = generateCaBundle({ trustDomain: 'cluster.local', sentrySpiffeId: SENTRY_ID, algorithm, now: NOW });
      const root = new X509Certificate(bundle.trustAnchorsPem);
      const issuer = new X509Certificate(bundle.issuerChainPem);

      it('loads as a valid issuer', () => {
        const loaded = loadIssuer(bundle, NOW);
        assert.equal(loaded.anchors.length, 1);
        assert.equal(loaded.trustAnchorsPem, bundle.trustAnchorsPem);
        assert.equal(loaded.issuerChainPem, bundle.issuerChainPem);
      });

      it('makes a self-signed CA root with Subject O=<trust domain>, no path length, 365 days', () => {
        assert.equal(root.subject, 'O=cluster.local');
        assert.equal(root.issuer, 'O=cluster.local');
        assert.ok(root.ca);
        assert.ok(root.verify(root.publicKey));
        const cert = new x509.X509Certificate(root.raw);
        const basic = cert.getExtension(x509.BasicConstraintsExtension);
        assert.ok(basic?.critical);
        assert.equal(basic.ca, true);
        assert.equal(basic.pathLength, undefined);
        assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign);
        assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
        assert.deepEqual(cert.notAfter, new Date(NOW.getTime() + 365 * DAY));
      });

      it('makes an issuer with Subject O=<sentry SPIFFE ID>, signed by the root, backdated by the skew', () => {
        assert.equal(issuer.subject, `O=${SENTRY_ID}`);
        assert.ok(issuer.ca);
        assert.ok(issuer.checkIssued(root));
        assert.ok(issuer.verify(root.publicKey));
        const cert = new x509.X509Certificate(issuer.raw);
        assert.equal(
          cert.getExtension(x509.KeyUsagesExtension)?.usages,
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        );
        assert.equal(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, new x509.X509Certificate(root.raw).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
        assert.deepEqual(cert.notBefore, new Date(NOW.getTime() - SKEW));
        assert.deepEqual(cert.notAfter, new Date(NOW.getTime() + 365 * DAY));
      });

      it('writes the issuer key as unencrypted PKCS#8 matching the issuer', () => {
        assert.match(bundle.issuerKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
        assert.ok(issuer.checkPrivateKey(createPrivateKey(bundle.issuerKeyPem)));
      });

      it('passes openssl verify', () => {
        withTempDir((dir) => {
          write(dir, 'ca.pem', bundle.trustAnchorsPem);
          write(dir, 'issuer.pem', bundle.issuerChainPem);
          assert.match(openssl(['verify', '-attime', String(NOW.getTime() / 1000), '-CAfile', 'ca.pem', 'issuer.pem'], { cwd: dir }), /issuer\.pem: OK/);
        });
      });
    });
  }

  it('honours ttl and skew options and encodes an underscore trust domain as UTF8String', () => {
    const bundle = generateCaBundle({ trustDomain: 'my_domain', sentrySpiffeId: SENTRY_ID, algorithm: 'ed25519', now: NOW, ttlMs: 10 * DAY, allowedClockSkewMs: 0 });
    const root = new x509.X509Certificate(bundle.trustAnchorsPem);
    assert.deepEqual(root.notBefore, NOW);
    assert.deepEqual(root.notAfter, new Date(NOW.getTime() + 10 * DAY));
    assert.equal(root.subject, 'O=my_domain');
    // UTF8String tag (0x0c) before the value: "_" is not a PrintableString character.
    assert.ok(Buffer.from(root.rawData).includes(Buffer.concat([Buffer.from([0x0c, 9]), Buffer.from('my_domain')])));
  });

  it('makes a fresh root each time (the root key is discarded)', () => {
    const first = generateCaBundle({ trustDomain: 'cluster.local', sentrySpiffeId: SENTRY_ID, algorithm: 'ed25519', now: NOW });
    const second = generateCaBundle({ trustDomain: 'cluster.local', sentrySpiffeId: SENTRY_ID, algorithm: 'ed25519', now: NOW });
    assert.notEqual(first.trustAnchorsPem, second.trustAnchorsPem);
    assert.doesNotMatch(first.trustAnchorsPem + first.issuerChainPem, /PRIVATE KEY/);
  });
});
