/**
 * A minimal forward DER writer: builds the constant parts of certificates
 * and CSRs once (OIDs, fixed extensions, algorithm identifiers) and the rare
 * whole structures (CSRs). The per-certificate hot path writes with
 * ReverseDerWriter into one scratch buffer instead (see leaf-template.ts).
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific tags: `[n]` constructed (explicit) and `[n]` primitive (implicit). */
export function contextTag(n: number, constructed: boolean): number {
  return (constructed ? 0xa0 : 0x80) | n;
}

function lengthHeader(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  if (length < 0x100) return Buffer.from([tag, 0x81, length]);
  if (length < 0x10000) return Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  if (length < 0x1000000) return Buffer.from([tag, 0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
  throw new RangeError(`DER value too long (${length} bytes)`);
}

/** One TLV whose content is the given parts, concatenated. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  return Buffer.concat([lengthHeader(tag, length), ...parts]);
}

export function sequence(...parts: readonly Uint8Array[]): Buffer {
  return tlv(TAG.sequence, ...parts);
}

/** A BIT STRING with no unused bits (signatures, public keys). */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(TAG.bitString, ZERO_BYTE, bytes);
}

const ZERO_BYTE = Buffer.from([0]);

/** An OBJECT IDENTIFIER from its dotted form; used only to build constants. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined) throw new RangeError(`invalid OID "${dotted}"`);
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    let value = arc >> 7n;
    while (value > 0n) {
      chunk.unshift(Number(value & 0x7fn) | 0x80);
      value >>= 7n;
    }
    bytes.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

/**
 * A non-negative INTEGER from big-endian unsigned bytes: leading zero bytes
 * dropped (DER is minimal) and one 0x00 added when the top bit is set, so
 * the value stays positive.
 */
export function unsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  if (trimmed.length === 0) return Buffer.from([TAG.integer, 1, 0]);
  return ((trimmed[0] ?? 0) & 0x80) !== 0 ? tlv(TAG.integer, ZERO_BYTE, trimmed) : tlv(TAG.integer, trimmed);
}

/** A small non-negative INTEGER (versions, path lengths). */
export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new RangeError(`integer out of range: ${value}`);
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  return unsignedInteger(Buffer.from(bytes));
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * An X.509 Time (RFC 5280 4.1.2.5) as tag and text: UTCTime for 1950 to
 * 2049, otherwise GeneralizedTime; seconds precision, always Zulu.
 * Milliseconds are dropped.
 */
export function x509TimeParts(date: Date): { tag: number; text: string } {
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`time outside X.509's range: ${date.toISOString()}`);
  const rest = `${pad2(date.getUTCMonth() + 1)}${pad2(date.getUTCDate())}${pad2(date.getUTCHours())}${pad2(date.getUTCMinutes())}${pad2(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return { tag: TAG.utcTime, text: `${pad2(year % 100)}${rest}` };
  return { tag: TAG.generalizedTime, text: `${String(year).padStart(4, '0')}${rest}` };
}

export function x509Time(date: Date): Buffer {
  const { tag, text } = x509TimeParts(date);
  return tlv(tag, Buffer.from(text, 'latin1'));
}

/** An Extension: `SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`. */
export function extension(extnId: Uint8Array, critical: boolean, value: Uint8Array): Buffer {
  return critical ? sequence(extnId, CRITICAL_TRUE, tlv(TAG.octetString, value)) : sequence(extnId, tlv(TAG.octetString, value));
}

const CRITICAL_TRUE = Buffer.from([TAG.boolean, 1, 0xff]);
