import { createHash } from 'node:crypto';
import { TAG, bitString, contextTag, extension, ia5String, sequence, smallInteger, tlv, unsignedInteger, x509Time } from './der-writer.js';
import { OID } from './oids.js';
import { subjectPublicKeyBits } from './public-key.js';
import type { SignatureAlgorithm } from './signature-algorithm.js';

/** What changes from one workload certificate to the next. */
export interface LeafFields {
  /** Big-endian unsigned serial bytes. */
  readonly serial: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER of the workload key. */
  readonly spki: Buffer;
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
}

export interface LeafIssuer {
  /** The issuer certificate's subject Name DER, copied byte for byte. */
  readonly subjectDer: Buffer;
  /** The issuer's subjectKeyIdentifier; the leaf's AKI. Omitted when the issuer has none. */
  readonly subjectKeyId: Buffer | undefined;
  readonly signatureAlgorithm: SignatureAlgorithm;
}

// Sentry's workload profile (spec 1.4). Fixed bytes, encoded once.
const VERSION_3 = tlv(contextTag(0, true), smallInteger(2));
const EMPTY_SUBJECT = sequence();
const KEY_USAGE_DIGITAL_SIGNATURE = extension(OID.keyUsage, true, Buffer.from([TAG.bitString, 2, 7, 0x80]));
const EKU_SERVER_CLIENT = extension(OID.extKeyUsage, false, sequence(OID.serverAuth, OID.clientAuth));
const NOT_A_CA = extension(OID.basicConstraints, true, sequence());
const SAN_URI = contextTag(6, false);
const SAN_DNS = contextTag(2, false);
const EXTENSIONS = contextTag(3, true);

/**
 * Builds TBSCertificates for one issuer. Everything that does not change per
 * certificate (version, signature algorithm, issuer name, the fixed
 * extensions, the AKI) is encoded here once; `tbs()` only encodes the
 * serial, validity, key, SKI and SANs around those bytes.
 */
export class LeafTemplate {
  private readonly algorithmAndIssuer: Buffer;
  private readonly authorityKeyId: Buffer | undefined;
  /** The encoded AlgorithmIdentifier, repeated in the outer Certificate. */
  readonly signatureAlgorithmDer: Buffer;

  constructor(issuer: LeafIssuer) {
    this.signatureAlgorithmDer = issuer.signatureAlgorithm.identifier;
    this.algorithmAndIssuer = Buffer.concat([issuer.signatureAlgorithm.identifier, issuer.subjectDer]);
    this.authorityKeyId = issuer.subjectKeyId
      ? extension(OID.authorityKeyIdentifier, false, sequence(tlv(contextTag(0, false), issuer.subjectKeyId)))
      : undefined;
  }

  tbs(fields: LeafFields): Buffer {
    const ski = createHash('sha1').update(subjectPublicKeyBits(fields.spki)).digest();
    const names = [ia5String(SAN_URI, fields.spiffeId)];
    for (const dns of fields.dnsNames) names.push(ia5String(SAN_DNS, dns));
    // Order as Go's x509 writes them; the SAN is critical because the subject is empty (RFC 5280 4.2.1.6).
    const extensions = [
      KEY_USAGE_DIGITAL_SIGNATURE,
      EKU_SERVER_CLIENT,
      NOT_A_CA,
      extension(OID.subjectKeyIdentifier, false, tlv(TAG.octetString, ski)),
      ...(this.authorityKeyId ? [this.authorityKeyId] : []),
      extension(OID.subjectAltName, true, sequence(...names)),
    ];
    return sequence(
      VERSION_3,
      unsignedInteger(fields.serial),
      this.algorithmAndIssuer,
      sequence(x509Time(fields.notBefore), x509Time(fields.notAfter)),
      EMPTY_SUBJECT,
      fields.spki,
      tlv(EXTENSIONS, sequence(...extensions)),
    );
  }

  /** The signed Certificate DER around a TBSCertificate and its signature. */
  certificate(tbs: Buffer, signature: Uint8Array): Buffer {
    return sequence(tbs, this.signatureAlgorithmDer, bitString(signature));
  }
}
