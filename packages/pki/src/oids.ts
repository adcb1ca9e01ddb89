import { oid } from './der-writer.js';

/** OBJECT IDENTIFIERs this package reads or writes, as full DER TLVs. */
export const OID = {
  // Public key algorithms and curves.
  ecPublicKey: oid('1.2.840.10045.2.1'),
  prime256v1: oid('1.2.840.10045.3.1.7'),
  secp384r1: oid('1.3.132.0.34'),
  secp521r1: oid('1.3.132.0.35'),
  ed25519: oid('1.3.101.112'),
  ed448: oid('1.3.101.113'),
  rsaEncryption: oid('1.2.840.113549.1.1.1'),
  rsassaPss: oid('1.2.840.113549.1.1.10'),
  dsa: oid('1.2.840.10040.4.1'),
  // Signature algorithms.
  ecdsaWithSha1: oid('1.2.840.10045.4.1'),
  ecdsaWithSha256: oid('1.2.840.10045.4.3.2'),
  ecdsaWithSha384: oid('1.2.840.10045.4.3.3'),
  ecdsaWithSha512: oid('1.2.840.10045.4.3.4'),
  sha1WithRsa: oid('1.2.840.113549.1.1.5'),
  sha256WithRsa: oid('1.2.840.113549.1.1.11'),
  sha384WithRsa: oid('1.2.840.113549.1.1.12'),
  sha512WithRsa: oid('1.2.840.113549.1.1.13'),
  // Extensions.
  subjectKeyIdentifier: oid('2.5.29.14'),
  keyUsage: oid('2.5.29.15'),
  subjectAltName: oid('2.5.29.17'),
  basicConstraints: oid('2.5.29.19'),
  authorityKeyIdentifier: oid('2.5.29.35'),
  extKeyUsage: oid('2.5.29.37'),
  serverAuth: oid('1.3.6.1.5.5.7.3.1'),
  clientAuth: oid('1.3.6.1.5.5.7.3.2'),
  // Name attributes.
  organization: oid('2.5.4.10'),
} as const;

export type OidName = keyof typeof OID;

const BY_CONTENT = new Map<string, OidName>(
  (Object.entries(OID) as [OidName, Buffer][]).map(([name, tlv]) => [tlv.subarray(2).toString('hex'), name]),
);

/** The name of a known OID from its content bytes (the TLV without tag and length). */
export function oidName(content: Uint8Array): OidName | undefined {
  return BY_CONTENT.get(Buffer.from(content.buffer, content.byteOffset, content.length).toString('hex'));
}
