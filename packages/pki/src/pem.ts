/** PEM (RFC 7468) blocks: decode all of a file's blocks, encode one. */

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

export class PemError extends Error {}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block in the text, in order. Text between blocks (comments such
 * as `openssl x509 -text` output) is ignored; a block with headers
 * (`Proc-Type: 4,ENCRYPTED`), bad base64 or mismatched END is an error.
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, label = '', body = '', endLabel = ''] = match;
    if (endLabel !== label) throw new PemError(`PEM block "BEGIN ${label}" ends with "END ${endLabel}"`);
    if (body.includes(':')) throw new PemError(`PEM block "${label}" has headers (an encrypted or legacy PEM); only plain PEM is supported`);
    const base64 = body.replace(/\s+/g, '');
    if (!BASE64.test(base64) || base64.length % 4 !== 0) throw new PemError(`PEM block "${label}" is not valid base64`);
    blocks.push({ label, der: Buffer.from(base64, 'base64') });
  }
  return blocks;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
const BASE64_BODY = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/**
 * The first PEM block, or undefined; for one-block inputs such as a CSR.
 * The same rules as decodePem, without a regular expression over the whole
 * text: this runs once per certificate request.
 */
export function decodeFirstPem(text: string): PemBlock | undefined {
  const begin = text.indexOf(BEGIN);
  if (begin < 0) return undefined;
  const labelEnd = text.indexOf(DASHES, begin + BEGIN.length);
  if (labelEnd < 0) throw new PemError('PEM BEGIN line is not terminated');
  const label = text.slice(begin + BEGIN.length, labelEnd);
  if (!/^[A-Z0-9 ]+$/.test(label)) throw new PemError(`PEM label "${label.slice(0, 40)}" is invalid`);
  const bodyStart = labelEnd + DASHES.length;
  const end = text.indexOf(END, bodyStart);
  if (end < 0) throw new PemError(`PEM block "${label}" has no END line`);
  const endLabelEnd = text.indexOf(DASHES, end + END.length);
  const endLabel = endLabelEnd < 0 ? '' : text.slice(end + END.length, endLabelEnd);
  if (endLabel !== label) throw new PemError(`PEM block "BEGIN ${label}" ends with "END ${endLabel}"`);
  const body = text.slice(bodyStart, end);
  if (body.includes(':')) throw new PemError(`PEM block "${label}" has headers (an encrypted or legacy PEM); only plain PEM is supported`);
  if (!BASE64_BODY.test(body)) throw new PemError(`PEM block "${label}" is not valid base64`);
  // Buffer's base64 decoder skips the line breaks.
  return { label, der: Buffer.from(body, 'base64') };
}

export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.length).toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < base64.length; i += 64) out += `${base64.slice(i, i + 64)}\n`;
  return `${out}-----END ${label}-----\n`;
}
