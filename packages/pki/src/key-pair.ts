import { generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * Key types this package generates: P-256 (1.17 and earlier), Ed25519 (1.18),
 * and RSA-2048, which 1.18's injector and operator use for their SVIDs
 * because some managed API servers refuse Ed25519 webhook certificates.
 */
export type KeyAlgorithm = 'ecdsa-p256' | 'ed25519' | 'rsa-2048';

export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

export function generateKeyPair(algorithm: KeyAlgorithm): KeyPair {
  switch (algorithm) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}
