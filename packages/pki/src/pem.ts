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

/** The first PEM block, or undefined; for one-block inputs such as a CSR. */
export function decodeFirstPem(text: string): PemBlock | undefined {
  const [block] = decodePem(firstBlockText(text));
  return block;
}

function firstBlockText(text: string): string {
  const begin = text.indexOf('-----BEGIN ');
  if (begin < 0) return '';
  const end = text.indexOf('-----END ', begin);
  if (end < 0) return text.slice(begin);
  const close = text.indexOf('-----', end + 9);
  return close < 0 ? text.slice(begin) : text.slice(begin, close + 5);
}

export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.length).toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < base64.length; i += 64) out += `${base64.slice(i, i + 64)}\n`;
  return `${out}-----END ${label}-----\n`;
}
