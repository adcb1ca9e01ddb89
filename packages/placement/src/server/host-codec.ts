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
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= bytes.length) throw new Error('truncated Host message');
      const byte = bytes[pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('malformed varint in Host message');
    }
  };
  /** Most varints here are small: a fast path without BigInt. */
  const smallVarint = (): number | bigint => {
    const start = pos;
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= bytes.length) throw new Error('truncated Host message');
      const byte = bytes[pos++] as number;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
    }
    pos = start;
    return varint();
  };
  const length = (): number => {
    const value = smallVarint();
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (pos + n > bytes.length) throw new Error('truncated Host message');
    return n;
  };
  const text = (): string => {
    const n = length();
    const value = Buffer.from(bytes.buffer, bytes.byteOffset + pos, n).toString('utf8');
    pos += n;
    return value;
  };
  const int64 = (): string => BigInt.asIntN(64, BigInt(smallVarint())).toString();

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

  while (pos < bytes.length) {
    const key = smallVarint();
    const tag = typeof key === 'bigint' ? Number(key) : key;
    const field = tag >>> 3;
    const wireType = tag & 7;
    switch (wireType === 2 || wireType === 0 ? field : -1) {
      case 1:
        name = text();
        break;
      case 2:
        port = int64();
        break;
      case 3:
        load = int64();
        break;
      case 4:
        entities.push(text());
        break;
      case 5:
        id = text();
        break;
      case 6:
        pod = text();
        break;
      case 7:
        apiLevel = Number(BigInt.asUintN(32, BigInt(smallVarint())));
        break;
      case 8:
        namespace = text();
        break;
      case 9: {
        const value = Number(BigInt.asIntN(32, BigInt(smallVarint())));
        operation = HOST_OPERATIONS[value] ?? value;
        break;
      }
      case 10:
        version = BigInt.asUintN(64, BigInt(smallVarint())).toString();
        break;
      default:
        skip(wireType);
    }
  }
  const host: WireHost = { name, port, load, entities, id, pod, api_level: apiLevel, namespace, operation };
  return version === undefined ? host : { ...host, version };

  function skip(wireType: number): void {
    switch (wireType) {
      case 0:
        smallVarint();
        return;
      case 1:
        pos += 8;
        return;
      case 2:
        pos += length();
        return;
      case 5:
        pos += 4;
        return;
      default:
        throw new Error(`unsupported wire type ${wireType} in Host message`);
    }
  }
}
