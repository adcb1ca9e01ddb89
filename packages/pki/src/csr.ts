import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { DerError, DerReader, bitStringBytes, contentOf, oidToString, rawOf } from './der-reader.js';
import { bitString, sequence, smallInteger, tlv, contextTag, TAG } from './der-writer.js';
import { CsrError } from './errors.js';
import { oidName, type OidName } from './oids.js';
import { PemError, decodeFirstPem, encodePem } from './pem.js';
import { UnsupportedKeyError, importSubjectPublicKey, type LeafKeyAlgorithm } from './public-key.js';
import { signatureAlgorithmFor } from './signature-algorithm.js';

export interface ParsedCsr {
  readonly publicKey: KeyObject;
  readonly keyAlgorithm: LeafKeyAlgorithm;
}

export interface CsrLimits {
  /** Largest accepted input, in bytes (default 16 KiB). */
  readonly maxBytes?: number;
}

export const DEFAULT_MAX_CSR_BYTES = 16 * 1024;

/** PEM labels sentry accepts for a CSR: the standard one and the legacy one upstream still takes. */
const CSR_LABELS: ReadonlySet<string> = new Set(['CERTIFICATE REQUEST', 'CERTIFICATE']);

/** Signature algorithms a CSR may use, with the key type each needs. */
const CSR_SIGNATURES: Partial<Record<OidName, { digest: string | null; key: LeafKeyAlgorithm }>> = {
  ecdsaWithSha256: { digest: 'sha256', key: 'ecdsa-p256' },
  ecdsaWithSha384: { digest: 'sha384', key: 'ecdsa-p256' },
  ecdsaWithSha512: { digest: 'sha512', key: 'ecdsa-p256' },
  ed25519: { digest: null, key: 'ed25519' },
  sha256WithRsa: { digest: 'sha256', key: 'rsa' },
  sha384WithRsa: { digest: 'sha384', key: 'rsa' },
  sha512WithRsa: { digest: 'sha512', key: 'rsa' },
};

/**
 * Decodes a PEM certificate signing request as sentry receives it, checks
 * its self-signature and returns its public key. Only the key is used:
 * subject, attributes and requested extensions are ignored, as upstream does.
 */
export function parseCsr(input: Uint8Array | string, limits: CsrLimits = {}): ParsedCsr {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_CSR_BYTES;
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) throw new CsrError('csr_too_large', `certificate signing request is ${size} bytes; at most ${maxBytes} are accepted`);
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.length).toString('latin1');
  if (text.trim() === '') throw new CsrError('csr_empty', 'certificate signing request is empty');

  let block;
  try {
    block = decodeFirstPem(text);
  } catch (err) {
    if (err instanceof PemError) throw new CsrError('csr_not_pem', `certificate signing request is not valid PEM: ${err.message}`, { cause: err });
    throw err;
  }
  if (!block) throw new CsrError('csr_not_pem', 'certificate signing request is not PEM: no "-----BEGIN CERTIFICATE REQUEST-----" block found');
  if (!CSR_LABELS.has(block.label)) {
    throw new CsrError('csr_not_pem', `certificate signing request has PEM type "${block.label}"; expected "CERTIFICATE REQUEST"`);
  }
  return parseCsrDer(block.der);
}

function parseCsrDer(der: Buffer): ParsedCsr {
  let info, signatureAlgorithm, signature, spkiValue, sigOid, sigParams;
  try {
    const top = new DerReader(der);
    const csr = top.expect(TAG.sequence, 'CertificationRequest');
    top.end('CertificationRequest');
    const fields = DerReader.inside(der, csr);
    info = fields.expect(TAG.sequence, 'CertificationRequestInfo');
    signatureAlgorithm = fields.expect(TAG.sequence, 'signatureAlgorithm');
    signature = bitStringBytes(der, fields.expect(TAG.bitString, 'signature'));
    fields.end('CertificationRequest');

    const infoFields = DerReader.inside(der, info);
    const version = infoFields.expect(TAG.integer, 'version');
    if (version.end - version.contentStart !== 1 || der[version.contentStart] !== 0) throw new DerError('version must be 0 (v1)');
    infoFields.expect(TAG.sequence, 'subject');
    spkiValue = infoFields.expect(TAG.sequence, 'subjectPKInfo');
    infoFields.optional(contextTag(0, true));
    infoFields.end('CertificationRequestInfo');

    const algFields = DerReader.inside(der, signatureAlgorithm);
    sigOid = algFields.expect(TAG.oid, 'signature algorithm OID');
    sigParams = algFields.done ? undefined : algFields.read();
    algFields.end('signatureAlgorithm');
  } catch (err) {
    if (err instanceof DerError) throw new CsrError('csr_parse', `certificate signing request is malformed: ${err.message}`, { cause: err });
    throw err;
  }

  let imported;
  try {
    imported = importSubjectPublicKey(der, spkiValue);
  } catch (err) {
    if (err instanceof UnsupportedKeyError) throw new CsrError('csr_key_unsupported', `certificate signing request key: ${err.message}`, { cause: err });
    const detail = err instanceof Error ? err.message : String(err);
    throw new CsrError('csr_parse', `certificate signing request has an invalid public key: ${detail}`, { cause: err });
  }

  const sigName = oidName(contentOf(der, sigOid));
  const expected = sigName ? CSR_SIGNATURES[sigName] : undefined;
  if (!expected) {
    const insecure = sigName === 'sha1WithRsa' || sigName === 'ecdsaWithSha1' ? ' (SHA-1 signatures are insecure)' : '';
    throw new CsrError(
      'csr_signature_algorithm_unsupported',
      `certificate signing request is signed with unsupported algorithm ${sigName ?? oidToString(contentOf(der, sigOid))}${insecure}; sign it with ECDSA-SHA256, Ed25519 or RSA-SHA256`,
    );
  }
  if (expected.key !== imported.keyAlgorithm) {
    throw new CsrError('csr_signature_invalid', `certificate signing request signature algorithm ${sigName ?? ''} does not match its ${imported.keyAlgorithm} key`);
  }
  if (sigParams !== undefined && !(expected.key === 'rsa' && sigParams.tag === TAG.null)) {
    throw new CsrError('csr_parse', `certificate signing request signature algorithm ${sigName ?? ''} has unexpected parameters`);
  }

  let valid: boolean;
  try {
    valid = verify(expected.digest, rawOf(der, info), imported.publicKey, signature);
  } catch (err) {
    throw new CsrError('csr_signature_invalid', 'certificate signing request signature is malformed and does not verify', { cause: err });
  }
  if (!valid) throw new CsrError('csr_signature_invalid', 'certificate signing request signature does not verify with its own public key');
  return { publicKey: imported.publicKey, keyAlgorithm: imported.keyAlgorithm };
}

const VERSION_1 = smallInteger(0);
const EMPTY_NAME = sequence();
const NO_ATTRIBUTES = tlv(contextTag(0, true));

/**
 * A PEM CSR for the key, as daprd sends it: empty subject, no attributes,
 * no SANs (sentry decides the identity). Signed with the key's own algorithm.
 */
export function createCsr(privateKey: KeyObject): string {
  if (privateKey.type !== 'private') throw new CsrError('csr_key_unsupported', `createCsr needs a private key, got a ${privateKey.type} key`);
  const algorithm = signatureAlgorithmFor(privateKey);
  if (typeof algorithm === 'string') throw new CsrError('csr_key_unsupported', algorithm);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const info = sequence(VERSION_1, EMPTY_NAME, spki, NO_ATTRIBUTES);
  const signature = sign(algorithm.digest, info, privateKey);
  return encodePem('CERTIFICATE REQUEST', sequence(info, algorithm.identifier, bitString(signature)));
}
