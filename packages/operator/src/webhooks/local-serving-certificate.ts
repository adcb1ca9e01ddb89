import { generateCaBundle, generateKeyPair, loadIssuer } from '@tsdapr/pki';
import type { TlsIdentity } from '@tsdapr/grpc';

const ONE_YEAR_MS = 365 * 86_400_000;

/**
 * For --webhook-registration=url (a local API server calling
 * https://localhost:<port>): the operator's SVID names only
 * `dapr-webhook.<ns>.svc`, which such a URL cannot match, so the webhooks
 * serve a certificate for the URL's host from a CA made at start and kept in
 * memory; that CA is the caBundle registered with the API server.
 */
export function localServingCertificate(hostname: string, namespace: string, now = new Date()): { identity: TlsIdentity; caBundlePem: string } {
  const bundle = generateCaBundle({ trustDomain: 'localhost', sentrySpiffeId: `spiffe://localhost/ns/${namespace}/dapr-operator-webhook-ca`, algorithm: 'ecdsa-p256', now, ttlMs: ONE_YEAR_MS });
  const issuer = loadIssuer(bundle, now);
  const keys = generateKeyPair('ecdsa-p256');
  const signed = issuer.sign({ spiffeId: `spiffe://localhost/ns/${namespace}/dapr-operator`, dnsNames: [hostname], publicKey: keys.publicKey, now, ttlMs: ONE_YEAR_MS - 3_600_000, allowedClockSkewMs: 60_000 });
  return { identity: { certificateChainPem: signed.certificatePem, privateKeyPem: keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }, caBundlePem: issuer.trustAnchorsPem };
}
