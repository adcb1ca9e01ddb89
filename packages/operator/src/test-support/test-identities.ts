import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCaBundle, generateKeyPair, loadIssuer, type Issuer } from '@tsdapr/pki';
import type { TlsIdentity } from '@tsdapr/grpc';

/** A test trust bundle that mints SVIDs as sentry would (spec 1.4). */
export interface TestPki {
  readonly trustAnchorsPem: string;
  svid(spiffeId: string, dnsNames?: readonly string[]): TlsIdentity;
  /** Writes the operator's cert, key and anchors files; returns their paths. */
  writeOperatorFiles(spiffeId: string): { certFile: string; keyFile: string; trustAnchorsFile: string; dir: string };
}

export function createTestPki(trustDomain = 'cluster.local'): TestPki {
  const now = new Date();
  const bundle = generateCaBundle({ trustDomain, sentrySpiffeId: `spiffe://${trustDomain}/ns/dapr-system/dapr-sentry`, algorithm: 'ecdsa-p256', now });
  const issuer: Issuer = loadIssuer(bundle, now);
  const svid = (spiffeId: string, dnsNames: readonly string[] = []): TlsIdentity => {
    const keys = generateKeyPair('ecdsa-p256');
    const signed = issuer.sign({ spiffeId, dnsNames, publicKey: keys.publicKey, now: new Date(), ttlMs: 3_600_000, allowedClockSkewMs: 60_000 });
    return { certificateChainPem: signed.certificatePem, privateKeyPem: keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
  };
  return {
    trustAnchorsPem: issuer.trustAnchorsPem,
    svid,
    writeOperatorFiles(spiffeId) {
      const dir = mkdtempSync(join(tmpdir(), 'operator-tls-'));
      const identity = svid(spiffeId, ['localhost']);
      const paths = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), trustAnchorsFile: join(dir, 'ca.crt'), dir };
      writeFileSync(paths.certFile, identity.certificateChainPem);
      writeFileSync(paths.keyFile, identity.privateKeyPem);
      writeFileSync(paths.trustAnchorsFile, issuer.trustAnchorsPem);
      return paths;
    },
  };
}
