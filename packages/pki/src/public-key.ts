import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { DerReader, DerError, bitStringBytes, contentOf, oidToString, rawOf, type Tlv } from './der-reader.js';
import { TAG } from './der-writer.js';
import { oidName, type OidName } from './oids.js';

/** Key types sentry certifies: the CSR keys daprd 1.17 (P-256) and 1.18 (Ed25519, RSA) send. */
export type LeafKeyAlgorithm = 'ecdsa-p256' | 'ed25519' | 'rsa';

export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;

/** Why a public key is refused, as a sentence ending without a period. */
export class UnsupportedKeyError extends Error {}

const UNSUPPORTED_KEY_NAMES: Partial<Record<OidName, string>> = { ed448: 'Ed448', rsassaPss: 'RSASSA-PSS', dsa: 'DSA' };

export interface ImportedPublicKey {
  readonly publicKey: KeyObject;
  readonly keyAlgorithm: LeafKeyAlgorithm;
  /** The SubjectPublicKeyInfo DER exactly as it was read. */
  readonly spki: Buffer;
}

/** A public key's encodings, as a certificate needs them. */
export interface PublicKeyDer {
  /** Set when the key was checked as a leaf key on import. */
  readonly leafAlgorithm?: LeafKeyAlgorithm;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
  /** SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1), for SKI and AKI. */
  readonly keyId: Buffer;
}

/**
 * Encodings per key object. Node 20's decoders make `createPublicKey(spki)`
 * cost ~160 us and `export({ type: 'spki' })` of some keys as much again;
 * the CSR already carries the bytes, so a key that came from
 * `importSubjectPublicKey` is never re-encoded. Keys are immutable and the
 * map is weak, so this is memoisation, not state.
 */
const knownDer = new WeakMap<KeyObject, PublicKeyDer>();

/**
 * Imports a SubjectPublicKeyInfo (the TLV at `value` in `buf`), choosing the
 * cheapest import Node offers per key type: JWK for P-256 and Ed25519
 * (one point validation instead of the generic decoder), PKCS#1 for RSA.
 * Throws UnsupportedKeyError for key types sentry does not certify and
 * DerError for malformed structures.
 */
export function importSubjectPublicKey(buf: Uint8Array, value: Tlv): ImportedPublicKey {
  const spkiReader = DerReader.inside(buf, value);
  const algorithm = spkiReader.expect(TAG.sequence, 'public key AlgorithmIdentifier');
  const keyBits = spkiReader.expect(TAG.bitString, 'subjectPublicKey BIT STRING');
  spkiReader.end('SubjectPublicKeyInfo');
  const algReader = DerReader.inside(buf, algorithm);
  const algOid = algReader.expect(TAG.oid, 'public key algorithm OID');
  const params = algReader.done ? undefined : algReader.read();
  algReader.end('public key AlgorithmIdentifier');
  const key = bitStringBytes(buf, keyBits);
  // A copy: the caller's buffer may be reused, and the key object outlives it.
  const spki = Buffer.from(rawOf(buf, value));

  const name = oidName(contentOf(buf, algOid));
  let imported: Omit<ImportedPublicKey, 'spki'>;
  if (name === 'ecPublicKey') {
    const curve = params?.tag === TAG.oid ? oidName(contentOf(buf, params)) : undefined;
    if (curve !== 'prime256v1') {
      const described =
        curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : params?.tag === TAG.oid ? `curve ${oidToString(contentOf(buf, params))}` : 'explicit curve parameters';
      throw new UnsupportedKeyError(`ECDSA key on ${described} is not supported; use P-256 or Ed25519`);
    }
    if (key.length !== 65 || key[0] !== 0x04) {
      throw new UnsupportedKeyError('P-256 public key must be an uncompressed point (65 bytes starting with 0x04)');
    }
    imported = {
      keyAlgorithm: 'ecdsa-p256',
      publicKey: createPublicKey({
        key: { kty: 'EC', crv: 'P-256', x: key.toString('base64url', 1, 33), y: key.toString('base64url', 33, 65) },
        format: 'jwk',
      }),
    };
  } else if (name === 'ed25519') {
    if (params !== undefined) throw new DerError('Ed25519 AlgorithmIdentifier must not have parameters');
    if (key.length !== 32) throw new DerError(`Ed25519 public key must be 32 bytes, got ${key.length}`);
    imported = {
      keyAlgorithm: 'ed25519',
      publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }, format: 'jwk' }),
    };
  } else if (name === 'rsaEncryption') {
    if (params !== undefined && params.tag !== TAG.null) throw new DerError('rsaEncryption parameters must be NULL');
    const publicKey = createPublicKey({ key, format: 'der', type: 'pkcs1' });
    checkRsaSize(publicKey);
    imported = { keyAlgorithm: 'rsa', publicKey };
  } else {
    const known = name === undefined ? undefined : UNSUPPORTED_KEY_NAMES[name];
    throw new UnsupportedKeyError(`${known ?? `public key algorithm ${oidToString(contentOf(buf, algOid))}`} keys are not supported; use Ed25519 or ECDSA P-256`);
  }
  knownDer.set(imported.publicKey, { leafAlgorithm: imported.keyAlgorithm, spki, keyId: hash('sha1', key, 'buffer') });
  return { ...imported, spki };
}

function checkRsaSize(publicKey: KeyObject): void {
  const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new UnsupportedKeyError(`RSA key of ${bits} bits is too small; at least ${MIN_RSA_BITS} bits are required`);
  if (bits > MAX_RSA_BITS) throw new UnsupportedKeyError(`RSA key of ${bits} bits is too large; at most ${MAX_RSA_BITS} bits are accepted`);
}

/** The leaf key type of a public KeyObject, or UnsupportedKeyError. */
export function leafKeyAlgorithm(publicKey: KeyObject): LeafKeyAlgorithm {
  const known = knownDer.get(publicKey)?.leafAlgorithm;
  if (known) return known;
  if (publicKey.type !== 'public') throw new UnsupportedKeyError(`expected a public key, got a ${publicKey.type} key`);
  switch (publicKey.asymmetricKeyType) {
    case 'ec': {
      const curve = publicKey.asymmetricKeyDetails?.namedCurve;
      if (curve !== 'prime256v1') throw new UnsupportedKeyError(`ECDSA key on ${curve ?? 'an unknown curve'} is not supported; use P-256 or Ed25519`);
      return 'ecdsa-p256';
    }
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
      checkRsaSize(publicKey);
      return 'rsa';
    case 'dsa':
    case 'ed448':
    case 'rsa-pss':
    case 'x25519':
    case 'x448':
    case undefined:
      throw new UnsupportedKeyError(`${publicKey.asymmetricKeyType ?? 'unknown'} keys are not supported; use Ed25519 or ECDSA P-256`);
  }
}

/** SubjectPublicKeyInfo DER and key identifier of a public key (memoised). */
export function publicKeyDer(publicKey: KeyObject): PublicKeyDer {
  const known = knownDer.get(publicKey);
  if (known) return known;
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const der = { spki, keyId: hash('sha1', subjectPublicKeyBits(spki), 'buffer') };
  knownDer.set(publicKey, der);
  return der;
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits; used for SKI/AKI. */
export function subjectPublicKeyBits(spki: Uint8Array): Buffer {
  const outer = new DerReader(spki).expect(TAG.sequence, 'SubjectPublicKeyInfo');
  const reader = DerReader.inside(spki, outer);
  reader.expect(TAG.sequence, 'AlgorithmIdentifier');
  return bitStringBytes(spki, reader.expect(TAG.bitString, 'subjectPublicKey'));
}
