import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { generateCaBundle } from './ca-bundle.js';
import { createCsr, parseCsr } from './csr.js';
import { SignError, type SignErrorCode } from './errors.js';
import { DAY, HOUR, NOW, SENTRY_ID, openssl, opensslCa, rsaKey, withTempDir, withTempDirAsync, write } from './fixtures.js';
import { loadIssuer, type CaBundlePem, type Issuer } from './issuer.js';
import { generateKeyPair, type KeyAlgorithm } from './key-pair.js';
import { spiffeIdFromCert } from './spiffe-id.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const APP_ID = 'spiffe://public/ns/default/my-app';
const SKEW = 15 * 60_000;

function bundle(algorithm: KeyAlgorithm, now = NOW): CaBundlePem {
  return generateCaBundle({ trustDomain: 'cluster.local', sentrySpiffeId: SENTRY_ID, algorithm, now });
}

function workloadKey(kind: 'ecdsa-p256' | 'ed25519' | 'rsa'): KeyObject {
  return kind === 'rsa' ? rsaKey(2048) : generateKeyPair(kind).privateKey;
}

const SIGNATURE_OIDS: Record<string, string> = {
  'ecdsa-with-SHA256': '1.2.840.10045.4.3.2',
  Ed25519: '1.3.101.112',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
};

/** Everything a workload certificate must be (dapr/dapr:pkg/sentry/server/ca/bundle/cert.go@v1.17.5), checked with Node and @peculiar/x509. */
async function assertWorkloadCert(issuer: Issuer, der: Buffer, expected: { spiffeId: string; dnsNames: readonly string[]; key: KeyObject }): Promise<void> {
  const leaf = new X509Certificate(der);
  assert.ok(leaf.verify(issuer.certificate.publicKey), 'leaf signature verifies with the issuer key');
  assert.ok(leaf.checkIssued(issuer.certificate), 'leaf names the issuer as its issuer');
  assert.equal(leaf.subject || '', '', 'Node reports no subject');
  assert.equal(leaf.ca, false);
  assert.deepEqual(leaf.publicKey.export({ type: 'spki', format: 'der' }), createPublicKey(expected.key).export({ type: 'spki', format: 'der' }));
  assert.deepEqual([...(leaf.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  assert.equal(spiffeIdFromCert(leaf), expected.spiffeId);

  // Independent parsers: @peculiar/asn1-x509 for the algorithm, @peculiar/x509 for the extensions.
  const asn = AsnConvert.parse(der, Certificate);
  assert.equal(asn.signatureAlgorithm.algorithm, SIGNATURE_OIDS[issuer.signatureAlgorithm]);
  assert.equal(asn.tbsCertificate.signature.algorithm, SIGNATURE_OIDS[issuer.signatureAlgorithm]);
  assert.equal(asn.tbsCertificate.version, 2, 'v3');
  assert.equal(asn.tbsCertificate.subject.length, 0, 'empty subject: an empty RDNSequence');
  const serial = Buffer.from(asn.tbsCertificate.serialNumber);
  assert.ok(serial.length >= 1 && serial.length <= 17, `serial is at most 128 bits plus a sign byte (${serial.length} bytes)`);
  assert.equal((serial[0] ?? 0) & 0x80, 0, 'serial is positive');

  const cert = new x509.X509Certificate(der);
  const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
  assert.ok(keyUsage?.critical);
  assert.equal(keyUsage.usages, x509.KeyUsageFlags.digitalSignature);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  assert.equal(eku?.critical, false);
  assert.deepEqual([...eku.usages], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  assert.ok(basic?.critical);
  assert.equal(basic.ca, false);
  assert.equal(basic.pathLength, undefined);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  assert.ok(san?.critical, 'SAN is critical because the subject is empty');
  assert.deepEqual(
    san.names.items.map((name) => [name.type, name.value]),
    [['url', expected.spiffeId], ...expected.dnsNames.map((dns) => ['dns', dns])],
  );
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  assert.equal(ski?.keyId, Buffer.from(await cert.publicKey.getKeyIdentifier('SHA-1')).toString('hex'));
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  const issuerSki = new x509.X509Certificate(issuer.certificate.raw).getExtension(x509.SubjectKeyIdentifierExtension);
  assert.ok(issuerSki);
  assert.equal(aki?.keyId, issuerSki.keyId);
  assert.equal(cert.extensions.length, 6);
}

describe('Issuer.sign: every issuer key type with every workload key type', () => {
  const issuers: KeyAlgorithm[] = ['ecdsa-p256', 'ed25519'];
  const workloads = ['ecdsa-p256', 'ed25519', 'rsa'] as const;
  for (const issuerAlgorithm of issuers) {
    const issuer = loadIssuer(bundle(issuerAlgorithm), NOW);
    for (const workload of workloads) {
      it(`${issuerAlgorithm} issuer, ${workload} CSR`, async () => {
        const key = workloadKey(workload);
        const csr = parseCsr(createCsr(key));
        assert.equal(csr.keyAlgorithm, workload);
        const signed = issuer.sign({ spiffeId: APP_ID, publicKey: csr.publicKey, now: NOW, ttlMs: DAY, allowedClockSkewMs: SKEW });
        await assertWorkloadCert(issuer, signed.leafDer, { spiffeId: APP_ID, dnsNames: [], key });
        assert.equal(issuer.signatureAlgorithm, issuerAlgorithm === 'ed25519' ? 'Ed25519' : 'ecdsa-with-SHA256');
      });
    }
  }

  it('writes DNS SANs only when given, after the URI', async () => {
    const issuer = loadIssuer(bundle('ecdsa-p256'), NOW);
    const key = workloadKey('ed25519');
    const dnsNames = ['dapr-scheduler-server-0.dapr-scheduler-server.dapr-system.svc.cluster.local', 'dapr-webhook.dapr-system.svc'];
    const signed = issuer.sign({ spiffeId: SENTRY_ID, dnsNames, publicKey: parseCsr(createCsr(key)).publicKey, now: NOW, ttlMs: DAY, allowedClockSkewMs: SKEW });
    await assertWorkloadCert(issuer, signed.leafDer, { spiffeId: SENTRY_ID, dnsNames, key });
  });

  it('signs a key that did not come from a CSR (a service signing its own SVID)', async () => {
    const issuer = loadIssuer(bundle('ed25519'), NOW);
    const { publicKey, privateKey } = generateKeyPair('ecdsa-p256');
    const signed = issuer.sign({ spiffeId: SENTRY_ID, publicKey, now: NOW, ttlMs: DAY, allowedClockSkewMs: SKEW });
    await assertWorkloadCert(issuer, signed.leafDer, { spiffeId: SENTRY_ID, dnsNames: [], key: privateKey });
  });
});

describe('Issuer.sign validity and output', () => {
  const issuer = loadIssuer(bundle('ecdsa-p256'), NOW);
  const publicKey = parseCsr(createCsr(generateKeyPair('ed25519').privateKey)).publicKey;

  it('backdates notBefore by the skew and ends at now + ttl, to the second', () => {
    const now = new Date('2026-06-01T12:00:00.750Z');
    const signed = issuer.sign({ spiffeId: APP_ID, publicKey, now, ttlMs: DAY, allowedClockSkewMs: SKEW });
    assert.deepEqual(signed.notBefore, new Date('2026-06-01T11:45:00Z'));
    assert.deepEqual(signed.notAfter, new Date('2026-06-02T12:00:00Z'));
    const leaf = new X509Certificate(signed.leafDer);
    assert.equal(new Date(leaf.validFrom).getTime(), signed.notBefore.getTime());
    assert.equal(new Date(leaf.validTo).getTime(), signed.notAfter.getTime());
  });

  it('is not clamped to the issuer expiry (upstream issue #8557)', () => {
    const signed = issuer.sign({ spiffeId: APP_ID, publicKey, now: NOW, ttlMs: 400 * DAY, allowedClockSkewMs: SKEW });
    assert.ok(signed.notAfter > issuer.notAfter);
  });

  it('writes GeneralizedTime from 2050 on', () => {
    const now = new Date('2049-12-31T12:00:00Z');
    const signed = issuer.sign({ spiffeId: APP_ID, publicKey, now, ttlMs: DAY, allowedClockSkewMs: SKEW });
    const asn = AsnConvert.parse(signed.leafDer, Certificate);
    assert.ok(asn.tbsCertificate.validity.notBefore.utcTime);
    assert.deepEqual(asn.tbsCertificate.validity.notAfter.generalTime, new Date('2050-01-01T12:00:00Z'));
  });

  it('returns the leaf PEM followed by the issuer chain', () => {
    const signed = issuer.sign({ spiffeId: APP_ID, publicKey, now: NOW, ttlMs: DAY, allowedClockSkewMs: SKEW });
    const pems = signed.certificatePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
    assert.equal(pems.length, 2);
    assert.deepEqual(new X509Certificate(pems[0] ?? '').raw, signed.leafDer);
    assert.equal(pems[1], issuer.issuerChainPem);
  });

  it('draws a different positive serial for every certificate', () => {
    const serials = new Set<string>();
    for (let i = 0; i < 600; i++) {
      serials.add(new X509Certificate(issuer.sign({ spiffeId: APP_ID, publicKey, now: NOW, ttlMs: DAY, allowedClockSkewMs: SKEW }).leafDer).serialNumber);
    }
    assert.equal(serials.size, 600);
  });

  const rejects: { name: string; code: SignErrorCode; change: Partial<Parameters<Issuer['sign']>[0]> }[] = [
    { name: 'a non-SPIFFE URI', code: 'sign_invalid_spiffe_id', change: { spiffeId: 'https://public/ns/default/app' } },
    { name: 'a SPIFFE ID without a path', code: 'sign_invalid_spiffe_id', change: { spiffeId: 'spiffe://public' } },
    { name: 'an upper-case trust domain', code: 'sign_invalid_spiffe_id', change: { spiffeId: 'spiffe://Public/ns/default/app' } },
    { name: 'a dot-dot path segment', code: 'sign_invalid_spiffe_id', change: { spiffeId: 'spiffe://public/ns/../app' } },
    { name: 'an empty path segment', code: 'sign_invalid_spiffe_id', change: { spiffeId: 'spiffe://public/ns//app' } },
    { name: 'a non-ASCII id', code: 'sign_invalid_spiffe_id', change: { spiffeId: 'spiffe://public/ns/default/äpp' } },
    { name: 'an invalid DNS name', code: 'sign_invalid_dns_name', change: { dnsNames: ['bad name.svc'] } },
    { name: 'an empty DNS name', code: 'sign_invalid_dns_name', change: { dnsNames: [''] } },
    { name: 'a zero TTL', code: 'sign_invalid_validity', change: { ttlMs: 0 } },
    { name: 'a negative skew', code: 'sign_invalid_validity', change: { allowedClockSkewMs: -1 } },
    { name: 'an invalid date', code: 'sign_invalid_validity', change: { now: new Date(Number.NaN) } },
    { name: 'a validity past year 9999', code: 'sign_invalid_validity', change: { ttlMs: 9000 * 365 * DAY } },
    { name: 'a P-384 key', code: 'sign_key_unsupported', change: { publicKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey } },
    { name: 'an RSA-1024 key', code: 'sign_key_unsupported', change: { publicKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey } },
    { name: 'a private key', code: 'sign_key_unsupported', change: { publicKey: generateKeyPair('ed25519').privateKey } },
  ];
  for (const c of rejects) {
    it(`rejects ${c.name} with ${c.code}`, () => {
      assert.throws(
        () => issuer.sign({ spiffeId: APP_ID, publicKey, now: NOW, ttlMs: DAY, allowedClockSkewMs: SKEW, ...c.change }),
        (err: unknown) => err instanceof SignError && err.code === c.code,
      );
    });
  }
});

describe('independent verifiers', () => {
  for (const algorithm of ['ecdsa-p256', 'ed25519'] as const) {
    it(`openssl verify accepts a ${algorithm} chain and prints the SPIFFE URI`, () => {
      const now = new Date();
      const generated = bundle(algorithm, now);
      const issuer = loadIssuer(generated, now);
      const signed = issuer.sign({
        spiffeId: APP_ID,
        publicKey: parseCsr(createCsr(generateKeyPair(algorithm).privateKey)).publicKey,
        now,
        ttlMs: HOUR,
        allowedClockSkewMs: SKEW,
      });
      withTempDir((dir) => {
        write(dir, 'ca.pem', generated.trustAnchorsPem);
        write(dir, 'issuer.pem', generated.issuerChainPem);
        write(dir, 'leaf.pem', signed.certificatePem);
        assert.match(openssl(['verify', '-CAfile', 'ca.pem', '-untrusted', 'issuer.pem', 'leaf.pem'], { cwd: dir }), /leaf\.pem: OK/);
        const text = openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], { cwd: dir });
        assert.match(text, /URI:spiffe:\/\/public\/ns\/default\/my-app/);
        assert.match(text, /X509v3 Subject Alternative Name: critical/);
        assert.match(text, /Subject: *\n/);
        assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
        assert.match(text, /CA:FALSE/);
      });
    });
  }
});

describe('loadIssuer with brought-your-own CAs made by openssl', () => {
  const cases = [
    { name: 'EC issuer with a SEC1 "EC PRIVATE KEY"', keyType: 'ec', keyForm: 'traditional', label: 'EC PRIVATE KEY', algorithm: 'ecdsa-with-SHA256' },
    { name: 'EC issuer with a PKCS#8 key', keyType: 'ec', keyForm: 'pkcs8', label: 'PRIVATE KEY', algorithm: 'ecdsa-with-SHA256' },
    { name: 'RSA issuer with a PKCS#1 "RSA PRIVATE KEY"', keyType: 'rsa', keyForm: 'traditional', label: 'RSA PRIVATE KEY', algorithm: 'sha256WithRSAEncryption' },
  ] as const;
  for (const c of cases) {
    it(c.name, async () => {
      await withTempDirAsync(async (dir) => {
        const ca = opensslCa(dir, { keyType: c.keyType, keyForm: c.keyForm });
        assert.match(ca.issuerKeyPem, new RegExp(`BEGIN ${c.label}-----`));
        const now = new Date();
        // issuer.crt with the root appended, as people often supply it: the root is stripped.
        const issuer = loadIssuer({ trustAnchorsPem: ca.rootPem, issuerChainPem: ca.issuerPem + ca.rootPem, issuerKeyPem: ca.issuerKeyPem }, now);
        assert.equal(issuer.signatureAlgorithm, c.algorithm);
        assert.equal(issuer.issuerChainPem.match(/BEGIN CERTIFICATE/g)?.length, 1);
        assert.equal(issuer.anchors.length, 1);
        const key = generateKeyPair('ed25519').privateKey;
        const signed = issuer.sign({ spiffeId: APP_ID, publicKey: parseCsr(createCsr(key)).publicKey, now, ttlMs: HOUR, allowedClockSkewMs: SKEW });
        await assertWorkloadCert(issuer, signed.leafDer, { spiffeId: APP_ID, dnsNames: [], key });
        write(dir, 'leaf.pem', signed.certificatePem);
        write(dir, 'chain.pem', issuer.issuerChainPem);
        assert.match(openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'leaf.pem'], { cwd: dir }), /OK/);
      });
    });
  }
});

describe('loadIssuer with several roots in ca.crt', () => {
  it('keeps every root and verifies the chain against the second one', () => {
    const now = new Date();
    const old = bundle('ecdsa-p256', now);
    const current = bundle('ed25519', now);
    const issuer = loadIssuer({ ...current, trustAnchorsPem: old.trustAnchorsPem + current.trustAnchorsPem }, now);
    assert.equal(issuer.anchors.length, 2);
    assert.equal(issuer.trustAnchorsPem, old.trustAnchorsPem + current.trustAnchorsPem);
    const second = issuer.anchors[1];
    assert.ok(second);
    assert.ok(issuer.certificate.checkIssued(second));
    assert.ok(issuer.certificate.verify(second.publicKey));
    const signed = issuer.sign({
      spiffeId: APP_ID,
      publicKey: parseCsr(createCsr(generateKeyPair('ecdsa-p256').privateKey)).publicKey,
      now,
      ttlMs: HOUR,
      allowedClockSkewMs: SKEW,
    });
    withTempDir((dir) => {
      write(dir, 'ca.pem', issuer.trustAnchorsPem);
      write(dir, 'leaf.pem', signed.certificatePem);
      write(dir, 'issuer.pem', issuer.issuerChainPem);
      assert.match(openssl(['verify', '-CAfile', 'ca.pem', '-untrusted', 'issuer.pem', 'leaf.pem'], { cwd: dir }), /OK/);
    });
  });

  it('normalises PEM: comments and CRLF line ends in the input disappear', () => {
    const generated = bundle('ecdsa-p256');
    const messy = `# root\r\n${generated.trustAnchorsPem.replace(/\n/g, '\r\n')}\r\nsubject=whatever\r\n`;
    const issuer = loadIssuer({ ...generated, trustAnchorsPem: messy }, NOW);
    assert.equal(issuer.trustAnchorsPem, generated.trustAnchorsPem);
  });

  it('exposes the issuer validity', () => {
    const issuer = loadIssuer(bundle('ecdsa-p256'), NOW);
    assert.deepEqual(issuer.notBefore, new Date(NOW.getTime() - SKEW));
    assert.deepEqual(issuer.notAfter, new Date(NOW.getTime() + 365 * DAY));
  });
});
