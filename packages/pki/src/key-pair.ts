import { generateKeyPairSync, type KeyObject } from 'node:crypto';

/** Key types this package generates: P-256 (1.17 and earlier) and Ed25519 (1.18). */
export type KeyAlgorithm = 'ecdsa-p256' | 'ed25519';

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
  }
}
