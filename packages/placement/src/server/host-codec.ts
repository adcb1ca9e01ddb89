import { HOST_OPERATIONS } from '../table/messages.js';
import type { WireHost } from './check-host.js';

/**
 * Decodes a `dapr.proto.placement.v1.Host` straight from protobuf wire
 * format into the shape proto-loader would give (64-bit integers as decimal
 * strings, the operation by name, `version` present only when sent). Every
 * stream sends three of these per round, so at thousands of streams the
 * generic decoder's object building shows; this one does only what the
 * message needs. Unknown fields are skipped, as protobuf requires.
 */
export function decodeHost(bytes: Uint8Array): WireHost {
  const cursor = new Cursor(bytes);
  let name = '';
  let port = '0';
  let load = '0';
  const entities: string[] = [];
  let id = '';
  let pod = '';
  let apiLevel = 0;
  let namespace = '';
  let operation: string | number = 'UNKNOWN';
  let version: string | undefined;
  while (cursor.pos < bytes.length) {
    const tag = cursor.uint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    switch (wireType === 2 || wireType === 0 ? field : -1) {
      case 1:
        name = cursor.text();
        break;
      case 2:
        port = cursor.int64();
        break;
      case 3:
        load = cursor.int64();
        break;
      case 4:
        entities.push(cursor.text());
        break;
      case 5:
        id = cursor.text();
        break;
      case 6:
        pod = cursor.text();
        break;
      case 7:
        apiLevel = cursor.uint32();
        break;
      case 8:
        namespace = cursor.text();
        break;
      case 9: {
        const value = cursor.int32();
        operation = HOST_OPERATIONS[value] ?? value;
        break;
      }
      case 10:
        version = cursor.uint64();
        break;
      default:
        cursor.skip(wireType);
    }
  }
  const host: WireHost = { name, port, load, entities, id, pod, api_level: apiLevel, namespace, operation };
  return version === undefined ? host : { ...host, version };
}

/** A read position in protobuf bytes. Varints below 2^53 are read as numbers; only longer ones (negative int64s, huge uint64s) take BigInt. */
class Cursor {
  pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** A varint as a number when it fits in 53 bits; else -1 with `pos` unmoved. */
  private small(): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.bytes.length) throw new Error('truncated Host message');
      const byte = this.bytes[this.pos++] as number;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
    this.pos = start;
    return -1;
  }

  private big(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error('truncated Host message');
      const byte = this.bytes[this.pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('malformed varint in Host message');
    }
  }

  /** A tag or length. */
  uint(): number {
    const value = this.small();
    return value >= 0 ? value : Number(this.big());
  }

  int64(): string {
    const value = this.small();
    return value >= 0 ? String(value) : BigInt.asIntN(64, this.big()).toString();
  }

  uint64(): string {
    const value = this.small();
    return value >= 0 ? String(value) : BigInt.asUintN(64, this.big()).toString();
  }

  int32(): number {
    const value = this.small();
    return value >= 0 ? value | 0 : Number(BigInt.asIntN(32, this.big()));
  }

  uint32(): number {
    const value = this.small();
    return value >= 0 ? value >>> 0 : Number(BigInt.asUintN(32, this.big()));
  }

  text(): string {
    const n = this.uint();
    if (this.pos + n > this.bytes.length) throw new Error('truncated Host message');
    const value = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, n).toString('utf8');
    this.pos += n;
    return value;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.uint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2:
        this.pos += this.uint();
        return;
      case 5:
        this.pos += 4;
        return;
      default:
        throw new Error(`unsupported wire type ${wireType} in Host message`);
    }
  }
}
