import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { test } from 'node:test';
import { localServingCertificate } from './local-serving-certificate.js';

const certificates = (pem: string): X509Certificate[] => (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));

test('the local serving certificate names the URL host and chains to the caBundle it registers', () => {
  const serving = localServingCertificate('localhost', 'dapr-system', new Date());
  const [leaf, issuer] = certificates(serving.identity.certificateChainPem);
  const [root] = certificates(serving.caBundlePem);
  assert.ok(leaf && issuer && root);
  assert.equal(leaf.checkHost('localhost'), 'localhost');
  assert.equal(leaf.checkHost('dapr-webhook.dapr-system.svc'), undefined);
  assert.ok(leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey), 'leaf signed by the issuer');
  assert.ok(issuer.checkIssued(root) && issuer.verify(root.publicKey), 'issuer signed by the registered root');
  assert.ok(leaf.checkPrivateKey(createPrivateKey(serving.identity.privateKeyPem)));
  const other = localServingCertificate('localhost', 'dapr-system', new Date());
  assert.notEqual(other.caBundlePem, serving.caBundlePem, 'a new CA per process: nothing to keep secret on disk');
});

