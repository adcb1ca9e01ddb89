import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TlsMaterial } from '@tsdapr/grpc';
import { silentLogger } from '@tsdapr/runtime';
import { selfSignedServingCertificate, servingCertificateFileWatch, servingCertificateFromFiles } from './serving-certificate.js';

void test('certificate files: loaded, their CA bundle derived, and reloaded when rotated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-serving-'));
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  try {
    const first = await selfSignedServingCertificate({ dnsNames: ['a.example'] });
    writeFileSync(certFile, first.identity.certificateChainPem);
    writeFileSync(keyFile, first.identity.privateKeyPem);
    const loaded = await servingCertificateFromFiles(certFile, keyFile);
    assert.equal(loaded.caBundlePem.trim(), first.caBundlePem.trim());

    const tls = new TlsMaterial({ identity: loaded.identity, trustAnchorsPem: loaded.caBundlePem });
    const abort = new AbortController();
    const running = servingCertificateFileWatch({ certFile, keyFile, tls, logger: silentLogger(), pollMs: 10 })(abort.signal);
    const second = await selfSignedServingCertificate({ dnsNames: ['b.example'] });
    writeFileSync(keyFile, second.identity.privateKeyPem);
    writeFileSync(certFile, second.identity.certificateChainPem);
    for (let i = 0; i < 100 && tls.currentIdentity?.certificateChainPem !== second.identity.certificateChainPem; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    abort.abort();
    await running;
    assert.equal(tls.currentIdentity?.certificateChainPem, second.identity.certificateChainPem);
    assert.equal(tls.trustAnchorsPem?.trim(), second.caBundlePem.trim());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('unusable files are clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-serving-'));
  try {
    writeFileSync(join(dir, 'tls.crt'), 'nothing');
    writeFileSync(join(dir, 'tls.key'), 'nothing');
    await assert.rejects(servingCertificateFromFiles(join(dir, 'tls.crt'), join(dir, 'tls.key')), /holds no PEM certificate/);
    await assert.rejects(servingCertificateFromFiles(join(dir, 'missing.crt'), join(dir, 'tls.key')), /cannot read/);
    const one = await selfSignedServingCertificate({ dnsNames: ['a.example'] });
    const two = await selfSignedServingCertificate({ dnsNames: ['b.example'] });
    writeFileSync(join(dir, 'tls.crt'), one.identity.certificateChainPem);
    writeFileSync(join(dir, 'tls.key'), two.identity.privateKeyPem);
    await assert.rejects(servingCertificateFromFiles(join(dir, 'tls.crt'), join(dir, 'tls.key')), /does not belong to the certificate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
