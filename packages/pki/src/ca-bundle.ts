import { createHash, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Extension,
  Extensions,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { bitString, sequence, unsignedInteger } from './der-writer.js';
import type { CaBundlePem } from './issuer.js';
import { generateKeyPair, type KeyAlgorithm } from './key-pair.js';
import { encodePem } from './pem.js';
import { subjectPublicKeyBits } from './public-key.js';
import { randomSerial } from './serial-number.js';
import { signatureAlgorithmFor, type SignatureAlgorithm } from './signature-algorithm.js';

export const DEFAULT_CA_TTL_MS = 365 * 24 * 60 * 60 * 1000;
export const DEFAULT_ALLOWED_CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface GenerateCaBundleOptions {
  /** The control-plane trust domain: the root's Subject O. */
  readonly trustDomain: string;
  /** `spiffe://<td>/ns/<ns>/dapr-sentry`: the issuer's Subject O. */
  readonly sentrySpiffeId: string;
  readonly algorithm: KeyAlgorithm;
  readonly now: Date;
  /** Lifetime of root and issuer (default 365 days). */
  readonly ttlMs?: number;
  /** notBefore is backdated by this much (default 15 minutes). */
  readonly allowedClockSkewMs?: number;
}

const ORGANIZATION = '2.5.4.10';
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/**
 * A new self-signed root and an issuer signed by it, as sentry generates
 * when the trust bundle is missing (dapr/dapr:pkg/sentry/server/ca/bundle/bundle.go@v1.17.5). The root key is discarded, as
 * upstream does: rotating the issuer later means a new root as well.
 * Runs once per cluster, so it uses @peculiar/asn1-x509 for clarity.
 */
export function generateCaBundle(options: GenerateCaBundleOptions): CaBundlePem {
  const ttlMs = options.ttlMs ?? DEFAULT_CA_TTL_MS;
  const skewMs = options.allowedClockSkewMs ?? DEFAULT_ALLOWED_CLOCK_SKEW_MS;
  const notBefore = new Date(options.now.getTime() - skewMs);
  const notAfter = new Date(options.now.getTime() + ttlMs);
  const root = generateKeyPair(options.algorithm);
  const issuer = generateKeyPair(options.algorithm);
  const rootSpki = root.publicKey.export({ type: 'spki', format: 'der' });
  const issuerSpki = issuer.publicKey.export({ type: 'spki', format: 'der' });
  const rootName = organizationName(options.trustDomain);
  const rootKeyId = keyIdentifier(rootSpki);

  const rootDer = caCertificate({
    subject: rootName,
    issuer: rootName,
    spki: rootSpki,
    subjectKeyId: rootKeyId,
    authorityKeyId: undefined,
    keyUsage: KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign,
    notBefore,
    notAfter,
    signingKey: root.privateKey,
  });
  const issuerDer = caCertificate({
    subject: organizationName(options.sentrySpiffeId),
    issuer: rootName,
    spki: issuerSpki,
    subjectKeyId: keyIdentifier(issuerSpki),
    authorityKeyId: rootKeyId,
    keyUsage: KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign,
    notBefore,
    notAfter,
    signingKey: root.privateKey,
  });
  return {
    trustAnchorsPem: encodePem('CERTIFICATE', rootDer),
    issuerChainPem: encodePem('CERTIFICATE', issuerDer),
    issuerKeyPem: issuer.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function organizationName(value: string): Name {
  const attribute = PRINTABLE.test(value) ? new AttributeValue({ printableString: value }) : new AttributeValue({ utf8String: value });
  return new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: ORGANIZATION, value: attribute })])]);
}

function keyIdentifier(spki: Buffer): Buffer {
  return createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
}

function caCertificate(input: {
  subject: Name;
  issuer: Name;
  spki: Buffer;
  subjectKeyId: Buffer;
  authorityKeyId: Buffer | undefined;
  keyUsage: number;
  notBefore: Date;
  notAfter: Date;
  signingKey: KeyObject;
}): Buffer {
  const algorithm = signatureAlgorithmFor(input.signingKey) as SignatureAlgorithm;
  const extensions = [
    new Extension({ extnID: id_ce_keyUsage, critical: true, extnValue: new OctetString(AsnConvert.serialize(new KeyUsage(input.keyUsage))) }),
    new Extension({ extnID: id_ce_basicConstraints, critical: true, extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints({ cA: true }))) }),
    new Extension({ extnID: id_ce_subjectKeyIdentifier, extnValue: new OctetString(AsnConvert.serialize(new SubjectKeyIdentifier(input.subjectKeyId))) }),
  ];
  if (input.authorityKeyId) {
    const aki = new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(input.authorityKeyId) });
    extensions.push(new Extension({ extnID: id_ce_authorityKeyIdentifier, extnValue: new OctetString(AsnConvert.serialize(aki)) }));
  }
  const tbs = new TBSCertificate({
    version: Version.v3,
    // The INTEGER's content as DER wants it: minimal, positive.
    serialNumber: toArrayBuffer(unsignedInteger(randomSerial()).subarray(2)),
    signature: AsnConvert.parse(algorithm.identifier, AlgorithmIdentifier),
    issuer: input.issuer,
    validity: new Validity({ notBefore: input.notBefore, notAfter: input.notAfter }),
    subject: input.subject,
    subjectPublicKeyInfo: AsnConvert.parse(input.spki, SubjectPublicKeyInfo),
    extensions: new Extensions(extensions),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  return sequence(tbsDer, algorithm.identifier, bitString(sign(algorithm.digest, tbsDer, input.signingKey)));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return Uint8Array.from(bytes).buffer;
}
