/**
 * gRPC's framing over HTTP/2 DATA, just enough of it for one bidirectional
 * method: each message is a compressed-flag byte, a 4-byte big-endian
 * length and the protobuf bytes.
 */

/** grpc's default limit on a received message. */
export const MAX_RECEIVE_MESSAGE_BYTES = 4 << 20;

/** A protobuf message with its 5-byte gRPC prefix (uncompressed). */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

export class GrpcFrameError extends Error {
  constructor(
    readonly reason: 'compressed' | 'too_large',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Splits DATA chunks into messages. A message that lies in one chunk is
 * returned as a view of it (the common case: acks are a few dozen bytes);
 * only a message spread over chunks is copied.
 */
export class GrpcMessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxMessageBytes = MAX_RECEIVE_MESSAGE_BYTES) {}

  /** The messages completed by `chunk`; throws a GrpcFrameError on a compressed or oversized message. */
  push(chunk: Buffer): Buffer[] {
    let data: Buffer;
    if (this.buffered === 0) {
      data = chunk;
    } else {
      this.chunks.push(chunk);
      data = Buffer.concat(this.chunks, this.buffered + chunk.length);
      this.chunks = [];
      this.buffered = 0;
    }
    const messages: Buffer[] = [];
    let pos = 0;
    while (data.length - pos >= 5) {
      if (data[pos] !== 0) throw new GrpcFrameError('compressed', 'compressed messages are not supported');
      const length = data.readUInt32BE(pos + 1);
      if (length > this.maxMessageBytes) throw new GrpcFrameError('too_large', `received message larger than max (${length} vs. ${this.maxMessageBytes})`);
      if (data.length - pos - 5 < length) break;
      messages.push(data.subarray(pos + 5, pos + 5 + length));
      pos += 5 + length;
    }
    if (pos < data.length) {
      this.chunks.push(data.subarray(pos));
      this.buffered = data.length - pos;
    }
    return messages;
  }
}

/** `grpc-message` as the gRPC spec wants it: UTF-8, percent-encoding every byte outside printable ASCII, and `%`. */
export function encodeGrpcMessage(details: string): string {
  let out = '';
  for (const byte of Buffer.from(details, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
