/**
 * A DER writer that fills one scratch buffer from the end towards the
 * start. Writing back to front, a value's length is known by the time its
 * header is written, so nested structures need no size pass and no
 * intermediate buffers: one leaf TBSCertificate is one copy out of the
 * scratch buffer instead of some thirty small Buffer allocations.
 *
 * Use: `const end = w.mark()`, write the children in reverse order, then
 * `w.wrap(tag, end)`.
 */
export class ReverseDerWriter {
  private buf: Buffer;
  private pos: number;

  constructor(initialSize = 2048) {
    this.buf = Buffer.allocUnsafe(initialSize);
    this.pos = initialSize;
  }

  reset(): void {
    this.pos = this.buf.length;
  }

  /** The current start of the written data, to pass to `wrap` later. */
  mark(): number {
    return this.buf.length - this.pos;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.pos -= data.length;
    this.buf.set(data, this.pos);
  }

  /** An ASCII string's bytes (callers check the text is ASCII). */
  latin1(text: string): void {
    this.reserve(text.length);
    this.pos -= text.length;
    this.buf.write(text, this.pos, text.length, 'latin1');
  }

  /** Tag and length for `length` content bytes already written. */
  header(tag: number, length: number): void {
    this.reserve(6);
    if (length < 0x80) {
      this.buf[--this.pos] = length;
    } else {
      let rest = length;
      let count = 0;
      while (rest > 0) {
        this.buf[--this.pos] = rest & 0xff;
        rest = Math.floor(rest / 256);
        count++;
      }
      this.buf[--this.pos] = 0x80 | count;
    }
    this.buf[--this.pos] = tag;
  }

  /** Closes a constructed value whose content was written since `mark`. */
  wrap(tag: number, mark: number): void {
    this.header(tag, this.mark() - mark);
  }

  /** A primitive value: content then header. */
  primitive(tag: number, content: Uint8Array): void {
    this.bytes(content);
    this.header(tag, content.length);
  }

  /** A view of everything written; valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(this.pos);
  }

  private reserve(n: number): void {
    if (this.pos >= n) return;
    const used = this.buf.length - this.pos;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, used + n + 256));
    this.buf.copy(grown, grown.length - used, this.pos);
    this.buf = grown;
    this.pos = grown.length - used;
  }
}
