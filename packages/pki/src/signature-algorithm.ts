import type { KeyObject } from 'node:crypto';
import { sequence, TAG } from './der-writer.js';
import { OID } from './oids.js';

/** How a private key signs: the AlgorithmIdentifier to write and the digest to pass to `crypto.sign`. */
export interface SignatureAlgorithm {
  readonly name: 'ecdsa-with-SHA256' | 'ecdsa-with-SHA384' | 'ecdsa-with-SHA512' | 'Ed25519' | 'sha256WithRSAEncryption';
  /** DER `AlgorithmIdentifier`. */
  readonly identifier: Buffer;
  /** First argument of `crypto.sign`: a digest name, or null for Ed25519. */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
}

const NULL_PARAMS = Buffer.from([TAG.null, 0]);

const ALGORITHMS = {
  p256: { name: 'ecdsa-with-SHA256', identifier: sequence(OID.ecdsaWithSha256), digest: 'sha256' },
  p384: { name: 'ecdsa-with-SHA384', identifier: sequence(OID.ecdsaWithSha384), digest: 'sha384' },
  p521: { name: 'ecdsa-with-SHA512', identifier: sequence(OID.ecdsaWithSha512), digest: 'sha512' },
  ed25519: { name: 'Ed25519', identifier: sequence(OID.ed25519), digest: null },
  rsa: { name: 'sha256WithRSAEncryption', identifier: sequence(OID.sha256WithRsa, NULL_PARAMS), digest: 'sha256' },
} as const satisfies Record<string, SignatureAlgorithm>;

/**
 * The signature algorithm a private key signs with, chosen by the key as Go's
 * x509 does: ECDSA by curve size, Ed25519, RSA with SHA-256 (PKCS#1 v1.5).
 * Returns a reason string for key types it cannot sign with.
 */
export function signatureAlgorithmFor(privateKey: KeyObject): SignatureAlgorithm | string {
  switch (privateKey.asymmetricKeyType) {
    case 'ec': {
      const curve = privateKey.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return ALGORITHMS.p256;
      if (curve === 'secp384r1') return ALGORITHMS.p384;
      if (curve === 'secp521r1') return ALGORITHMS.p521;
      return `ECDSA keys on ${curve ?? 'an unknown curve'} are not supported (use P-256, P-384, P-521, Ed25519 or RSA)`;
    }
    case 'ed25519':
      return ALGORITHMS.ed25519;
    case 'rsa': {
      const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits >= 2048 ? ALGORITHMS.rsa : `RSA keys of ${bits} bits are too small (at least 2048 bits are required)`;
    }
    case 'dsa':
    case 'ed448':
    case 'rsa-pss':
    case 'x25519':
    case 'x448':
    case undefined:
      return `${privateKey.asymmetricKeyType ?? 'unknown'} keys are not supported (use ECDSA, Ed25519 or RSA)`;
  }
}
