import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  KeyUsage,
  KeyUsageFlags,
  SubjectKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { DerReader, rawOf } from './der-reader.js';
import { TAG, contextTag } from './der-writer.js';

/** What validating and using a CA certificate needs beyond Node's X509Certificate. */
export interface CertificateFields {
  /** The subject Name exactly as encoded, for the issuer field of certificates it signs. */
  readonly subjectDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** basicConstraints cA. */
  readonly isCa: boolean;
  /** keyUsage present and asserting keyCertSign; undefined when keyUsage is absent. */
  readonly keyCertSign: boolean | undefined;
  readonly subjectKeyId: Buffer | undefined;
}

/**
 * Reads the fields of a CA certificate. Runs once per bundle load, so it
 * uses @peculiar/asn1-x509 for the extensions; only the raw subject bytes
 * come from the DER reader (re-encoding a Name could change its bytes).
 * Throws on malformed input.
 */
export function readCertificateFields(der: Buffer): CertificateFields {
  const cert = AsnConvert.parse(der, Certificate);
  const tbs = cert.tbsCertificate;
  let isCa = false;
  let keyCertSign: boolean | undefined;
  let subjectKeyId: Buffer | undefined;
  for (const ext of tbs.extensions ?? []) {
    const value = ext.extnValue.buffer;
    if (ext.extnID === id_ce_basicConstraints) isCa = AsnConvert.parse(value, BasicConstraints).cA;
    else if (ext.extnID === id_ce_keyUsage) keyCertSign = (AsnConvert.parse(value, KeyUsage).toNumber() & KeyUsageFlags.keyCertSign) !== 0;
    else if (ext.extnID === id_ce_subjectKeyIdentifier) subjectKeyId = Buffer.from(AsnConvert.parse(value, SubjectKeyIdentifier).buffer);
  }
  return {
    subjectDer: Buffer.from(rawSubject(der)),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    isCa,
    keyCertSign,
    subjectKeyId,
  };
}

function rawSubject(der: Buffer): Buffer {
  const top = new DerReader(der);
  const cert = DerReader.inside(der, top.expect(TAG.sequence, 'Certificate'));
  const tbs = DerReader.inside(der, cert.expect(TAG.sequence, 'TBSCertificate'));
  tbs.optional(contextTag(0, true));
  tbs.expect(TAG.integer, 'serialNumber');
  tbs.expect(TAG.sequence, 'signature');
  tbs.expect(TAG.sequence, 'issuer');
  tbs.expect(TAG.sequence, 'validity');
  return rawOf(der, tbs.expect(TAG.sequence, 'subject'));
}
