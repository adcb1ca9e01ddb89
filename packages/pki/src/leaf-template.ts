import { TAG, contextTag, extension, sequence, smallInteger, tlv, x509TimeParts } from './der-writer.js';
import { OID } from './oids.js';
import { ReverseDerWriter } from './reverse-der-writer.js';
import type { SignatureAlgorithm } from './signature-algorithm.js';

/** What changes from one workload certificate to the next. */
export interface LeafFields {
  /** Big-endian unsigned serial bytes. */
  readonly serial: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER of the workload key. */
  readonly spki: Uint8Array;
  /** The workload key's identifier (SHA-1 of its key bits), for the SKI. */
  readonly keyId: Uint8Array;
  /** ASCII only (checked by the caller). */
  readonly spiffeId: string;
  /** ASCII only (checked by the caller). */
  readonly dnsNames: readonly string[];
}

export interface LeafIssuer {
  /** The issuer certificate's subject Name DER, copied byte for byte. */
  readonly subjectDer: Buffer;
  /** The issuer's subjectKeyIdentifier; the leaf's AKI. Omitted when the issuer has none. */
  readonly subjectKeyId: Buffer | undefined;
  readonly signatureAlgorithm: SignatureAlgorithm;
}

// Sentry's workload profile (dapr/dapr:pkg/sentry/server/ca/bundle/cert.go@v1.17.5). Fixed bytes, encoded once.
const VERSION_3 = tlv(contextTag(0, true), smallInteger(2));
const EMPTY_SUBJECT = sequence();
// keyUsage digitalSignature (critical), EKU serverAuth+clientAuth, basicConstraints CA:FALSE (critical);
// in the order Go's x509 writes them.
const FIXED_EXTENSIONS = Buffer.concat([
  extension(OID.keyUsage, true, Buffer.from([TAG.bitString, 2, 7, 0x80])),
  extension(OID.extKeyUsage, false, sequence(OID.serverAuth, OID.clientAuth)),
  extension(OID.basicConstraints, true, sequence()),
]);
/** `SEQUENCE { subjectKeyIdentifier, OCTET STRING { OCTET STRING (20 bytes) } }` up to the key id. */
const SKI_PREFIX = extension(OID.subjectKeyIdentifier, false, tlv(TAG.octetString, Buffer.alloc(20))).subarray(0, -20);
const SAN_OID_CRITICAL = Buffer.concat([OID.subjectAltName, Buffer.from([TAG.boolean, 1, 0xff])]);
const SAN_URI = contextTag(6, false);
const SAN_DNS = contextTag(2, false);
const EXTENSIONS = contextTag(3, true);
const NO_UNUSED_BITS = Buffer.from([0]);

/**
 * Builds workload certificates for one issuer. Everything that does not
 * change per certificate (version, signature algorithm, issuer name, the
 * fixed extensions, the AKI) is encoded once here; `tbs()` writes the
 * serial, validity, key, SKI and SANs around those bytes into a reused
 * scratch buffer.
 */
export class LeafTemplate {
  private readonly algorithmAndIssuer: Buffer;
  private readonly authorityKeyId: Buffer;
  private readonly signatureAlgorithmDer: Buffer;
  private readonly tbsWriter = new ReverseDerWriter();
  private readonly certWriter = new ReverseDerWriter();

  constructor(issuer: LeafIssuer) {
    this.signatureAlgorithmDer = issuer.signatureAlgorithm.identifier;
    this.algorithmAndIssuer = Buffer.concat([issuer.signatureAlgorithm.identifier, issuer.subjectDer]);
    this.authorityKeyId = issuer.subjectKeyId
      ? extension(OID.authorityKeyIdentifier, false, sequence(tlv(contextTag(0, false), issuer.subjectKeyId)))
      : Buffer.alloc(0);
  }

  /** The TBSCertificate DER; a view into scratch space, valid until the next call. */
  tbs(fields: LeafFields): Buffer {
    const w = this.tbsWriter;
    w.reset();
    const tbsEnd = w.mark();

    // [3] { SEQUENCE { fixed..., SKI, AKI, SAN } }
    const extensionsEnd = w.mark();
    const listEnd = w.mark();
    const sanEnd = w.mark();
    const sanValueEnd = w.mark();
    const namesEnd = w.mark();
    for (let i = fields.dnsNames.length - 1; i >= 0; i--) {
      const dns = fields.dnsNames[i] ?? '';
      w.latin1(dns);
      w.header(SAN_DNS, dns.length);
    }
    w.latin1(fields.spiffeId);
    w.header(SAN_URI, fields.spiffeId.length);
    w.wrap(TAG.sequence, namesEnd);
    w.wrap(TAG.octetString, sanValueEnd);
    // The SAN is critical because the subject is empty (RFC 5280 4.2.1.6).
    w.bytes(SAN_OID_CRITICAL);
    w.wrap(TAG.sequence, sanEnd);
    w.bytes(this.authorityKeyId);
    w.bytes(fields.keyId);
    w.bytes(SKI_PREFIX);
    w.bytes(FIXED_EXTENSIONS);
    w.wrap(TAG.sequence, listEnd);
    w.wrap(EXTENSIONS, extensionsEnd);

    w.bytes(fields.spki);
    w.bytes(EMPTY_SUBJECT);
    const validityEnd = w.mark();
    writeTime(w, fields.notAfter);
    writeTime(w, fields.notBefore);
    w.wrap(TAG.sequence, validityEnd);
    w.bytes(this.algorithmAndIssuer);
    writeUnsignedInteger(w, fields.serial);
    w.bytes(VERSION_3);
    w.wrap(TAG.sequence, tbsEnd);
    return w.view();
  }

  /** The signed Certificate DER around a TBSCertificate and its signature (a new Buffer). */
  certificate(tbs: Uint8Array, signature: Uint8Array): Buffer {
    const w = this.certWriter;
    w.reset();
    const end = w.mark();
    w.bytes(signature);
    w.bytes(NO_UNUSED_BITS);
    w.header(TAG.bitString, signature.length + 1);
    w.bytes(this.signatureAlgorithmDer);
    w.bytes(tbs);
    w.wrap(TAG.sequence, end);
    return Buffer.from(w.view());
  }
}

function writeTime(w: ReverseDerWriter, date: Date): void {
  const { tag, text } = x509TimeParts(date);
  w.latin1(text);
  w.header(tag, text.length);
}

/** A non-negative INTEGER from unsigned big-endian bytes: minimal, with a 0x00 when the top bit is set. */
function writeUnsignedInteger(w: ReverseDerWriter, bytes: Uint8Array): void {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const mark = w.mark();
  if (trimmed.length === 0) w.bytes(NO_UNUSED_BITS);
  else w.bytes(trimmed);
  if (((trimmed[0] ?? 0) & 0x80) !== 0) w.bytes(NO_UNUSED_BITS);
  w.wrap(TAG.integer, mark);
}
