/**
 * A strict, minimal DER reader: single-byte tags, definite minimal lengths,
 * no reading past the enclosing value. It hands out positions rather than
 * copies, so the exact bytes a signature covers can be sliced out.
 */

export class DerError extends Error {}

export interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the value. */
  readonly end: number;
}

export class DerReader {
  private pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    private readonly limit = buf.length,
  ) {
    this.pos = start;
  }

  /** A reader over the content of a constructed value. */
  static inside(buf: Uint8Array, value: Tlv): DerReader {
    return new DerReader(buf, value.contentStart, value.end);
  }

  get done(): boolean {
    return this.pos >= this.limit;
  }

  peekTag(): number | undefined {
    return this.pos < this.limit ? this.buf[this.pos] : undefined;
  }

  read(): Tlv {
    const start = this.pos;
    if (start + 2 > this.limit) throw new DerError(`truncated value at offset ${start}`);
    const tag = this.buf[start] ?? 0;
    if ((tag & 0x1f) === 0x1f) throw new DerError(`unsupported multi-byte tag at offset ${start}`);
    const first = this.buf[start + 1] ?? 0;
    let length: number;
    let contentStart: number;
    if (first < 0x80) {
      length = first;
      contentStart = start + 2;
    } else {
      const count = first & 0x7f;
      if (count === 0) throw new DerError(`indefinite length at offset ${start} (not DER)`);
      if (count > 3) throw new DerError(`length too large at offset ${start}`);
      if (start + 2 + count > this.limit) throw new DerError(`truncated length at offset ${start}`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (this.buf[start + 2 + i] ?? 0);
      if (length < 0x80 || (count > 1 && (this.buf[start + 2] ?? 0) === 0)) {
        throw new DerError(`non-minimal length at offset ${start} (not DER)`);
      }
      contentStart = start + 2 + count;
    }
    const end = contentStart + length;
    if (end > this.limit) throw new DerError(`value at offset ${start} runs past its container`);
    this.pos = end;
    return { tag, start, contentStart, end };
  }

  expect(tag: number, what: string): Tlv {
    const next = this.peekTag();
    if (next !== tag) {
      throw new DerError(`expected ${what} (tag 0x${tag.toString(16)}), found ${next === undefined ? 'end of data' : `tag 0x${next.toString(16)}`}`);
    }
    return this.read();
  }

  /** Reads the next value only if it has this tag. */
  optional(tag: number): Tlv | undefined {
    return this.peekTag() === tag ? this.read() : undefined;
  }

  end(what: string): void {
    if (!this.done) throw new DerError(`unexpected data after ${what}`);
  }
}

export function contentOf(buf: Uint8Array, value: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + value.contentStart, value.end - value.contentStart);
}

export function rawOf(buf: Uint8Array, value: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + value.start, value.end - value.start);
}

/** The content bytes of a BIT STRING that must have no unused bits. */
export function bitStringBytes(buf: Uint8Array, value: Tlv): Buffer {
  const content = contentOf(buf, value);
  if (content.length === 0 || content[0] !== 0) throw new DerError('BIT STRING with unused bits');
  return content.subarray(1);
}

/** Dotted form of an OBJECT IDENTIFIER's content, for messages. */
export function oidToString(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const [first] = arcs;
  if (first === undefined) return '(empty OID)';
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}
