import { X509Certificate } from 'node:crypto';
import { DerReader, contentOf } from './der-reader.js';
import { TAG, contextTag } from './der-writer.js';
import { oidName } from './oids.js';

/** spiffe://<trust domain>/<segment>[/<segment>...] with the SPIFFE character sets. */
const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(?:\/[A-Za-z0-9._-]+)+$/;
/** A `.` or `..` path segment. */
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;
const MAX_URI_BYTES = 2048;

/**
 * Whether the text is a SPIFFE ID a workload certificate can carry: the
 * `spiffe` scheme, a lower-case trust domain and a non-empty path whose
 * segments use only letters, digits, `.`, `-` and `_` and are not `.` or
 * `..` (the SPIFFE ID standard, as go-spiffe applies it).
 */
export function isSpiffeId(text: string): boolean {
  return text.length <= MAX_URI_BYTES && SPIFFE_ID.test(text) && !DOT_SEGMENT.test(text);
}

const SAN_URI = contextTag(6, false);

/**
 * The certificate's SPIFFE ID: its single URI SAN, when there is exactly one
 * and it is a valid SPIFFE ID. Undefined otherwise (no SAN, several URIs, a
 * non-SPIFFE URI, or a malformed certificate).
 */
export function spiffeIdFromCert(cert: X509Certificate | Buffer): string | undefined {
  const der = cert instanceof X509Certificate ? cert.raw : cert;
  try {
    const uris = uriSans(der);
    const [uri] = uris;
    return uris.length === 1 && uri !== undefined && isSpiffeId(uri) ? uri : undefined;
  } catch {
    // A certificate we cannot read has no SPIFFE ID; callers reject it as such.
    return undefined;
  }
}

function uriSans(der: Buffer): string[] {
  const top = new DerReader(der);
  const cert = DerReader.inside(der, top.expect(TAG.sequence, 'Certificate'));
  const tbs = DerReader.inside(der, cert.expect(TAG.sequence, 'TBSCertificate'));
  while (!tbs.done) {
    const field = tbs.read();
    if (field.tag !== contextTag(3, true)) continue;
    const list = DerReader.inside(der, field);
    const extensions = DerReader.inside(der, list.expect(TAG.sequence, 'Extensions'));
    while (!extensions.done) {
      const ext = DerReader.inside(der, extensions.expect(TAG.sequence, 'Extension'));
      const id = ext.expect(TAG.oid, 'extnID');
      ext.optional(TAG.boolean);
      const value = ext.expect(TAG.octetString, 'extnValue');
      if (oidName(contentOf(der, id)) !== 'subjectAltName') continue;
      const names = DerReader.inside(der, DerReader.inside(der, value).expect(TAG.sequence, 'GeneralNames'));
      const uris: string[] = [];
      while (!names.done) {
        const name = names.read();
        if (name.tag === SAN_URI) uris.push(contentOf(der, name).toString('latin1'));
      }
      return uris;
    }
  }
  return [];
}
