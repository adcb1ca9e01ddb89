/**
 * A simulated daprd 1.17 placement stream spoken straight over `node:http2`:
 * one connection and one `ReportDaprStatus` call per sidecar, gRPC framing
 * by hand. A thousand grpc-js clients in one process spend most of the
 * load generator's CPU in grpc-js's client call stack (interceptors,
 * resolving, retrying and load-balancing calls per message), and that CPU is
 * taken from the placement under test on a 2-core machine; this client
 * spends it only on what a sidecar must do: read each order's operation and
 * version, and ack. On the wire it is what a gRPC client sends (the same
 * headers, frames and acks as daprd), so it measures upstream's placement
 * and ours alike.
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { placementService } from '@tsdapr/grpc';
import { daprdStep, type DaprdPhase, type ReceivedOrder } from '@tsdapr/placement';

const method = placementService().service.ReportDaprStatus!;

/**
 * A stream window large enough for a 3,000-host table in one go, as grpc-go's
 * BDP estimator grows daprd's window; node's 64 KiB default would add a
 * WINDOW_UPDATE round trip per 64 KiB to every update at both placements.
 */
const WINDOW_BYTES = 4 << 20;

/** What the round bookkeeping hears from a sidecar. */
export interface SidecarListener {
  /** From the observer alone: an update's version and the hosts of its table for `actorType`. */
  onUpdate(version: number, hosts: ReadonlySet<string>): void;
  onUnlock(sidecar: H2Sidecar, version: number, at: number): void;
  /** The stream ended (by either side). */
  onEnd(sidecar: H2Sidecar): void;
}

export interface H2SidecarOptions {
  /** host:port of the placement server (plaintext). */
  readonly address: string;
  /** Its number in the run; name and id derive from it. */
  readonly index: number;
  readonly name: string;
  readonly id: string;
  readonly namespace: string;
  readonly actorType: string;
  readonly listener: SidecarListener;
  /** Decodes every update's table in full, to tell the round's members. */
  readonly observer: boolean;
}

/** Host operations by their enum number in `placement.proto`. */
const OPERATION_NUMBER = { LOCK: 2, UPDATE: 3, UNLOCK: 4 } as const;

export class H2Sidecar {
  readonly name: string;
  readonly index: number;
  readonly observer: boolean;
  /** When its REPORT was handed to the connection (performance.now()). */
  reportedAt: number | undefined;
  ended = false;
  closedByUs = false;
  /** Why the stream ended: the gRPC status from the trailers, or what happened to the connection. */
  endReason: string | undefined;
  /** The phase of the last order acked: REPORT, LOCK, UPDATE or UNLOCK. */
  phase: DaprdPhase = 'REPORT';
  private version = 0;
  private readonly session: ClientHttp2Session;
  private readonly stream: ClientHttp2Stream;
  private readonly reader = new GrpcFrameReader();
  /** Each ack's fixed part: id (field 5), namespace (field 8), operation (field 9) and the key of version (field 10). */
  private readonly ackPrefixes: Record<keyof typeof OPERATION_NUMBER, Buffer>;
  private readonly reported: Promise<number>;

  constructor(private readonly options: H2SidecarOptions) {
    this.name = options.name;
    this.index = options.index;
    this.observer = options.observer;
    const idAndNamespace = Buffer.concat([lengthDelimited(5, options.id), lengthDelimited(8, options.namespace)]);
    const prefix = (operation: keyof typeof OPERATION_NUMBER): Buffer => Buffer.concat([idAndNamespace, Buffer.from([0x48, OPERATION_NUMBER[operation], 0x50])]);
    this.ackPrefixes = { LOCK: prefix('LOCK'), UPDATE: prefix('UPDATE'), UNLOCK: prefix('UNLOCK') };
    this.session = connect(`http://${options.address}`, { settings: { initialWindowSize: WINDOW_BYTES } });
    this.session.on('error', (err: Error) => this.end(`connection error: ${err.message}`));
    this.session.on('goaway', (code: number) => this.end(`GOAWAY ${code}`));
    this.session.on('connect', () => this.session.setLocalWindowSize(WINDOW_BYTES));
    this.stream = this.session.request(
      {
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: method.path,
        [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        [constants.HTTP2_HEADER_TE]: 'trailers',
      },
      { endStream: false },
    );
    this.stream.on('data', (chunk: Buffer) => {
      for (const message of this.reader.push(chunk)) this.onMessage(message);
    });
    const statusOf = (headers: IncomingHttpHeaders): void => {
      const code = headers['grpc-status'];
      const message = headers['grpc-message'];
      if (typeof code === 'string') this.endReason ??= `grpc-status ${code}: ${decodeURIComponent(typeof message === 'string' ? message : '')}`;
    };
    this.stream.on('response', statusOf);
    this.stream.on('trailers', statusOf);
    this.stream.on('close', () => this.end(`stream closed (RST code ${this.stream.rstCode ?? '-'})`));
    this.stream.on('error', (err: Error) => this.end(`stream error: ${err.message}`));
    const report = method.requestSerialize({ operation: 'REPORT', name: options.name, id: options.id, namespace: options.namespace, entities: [options.actorType], api_level: 20 });
    this.reported = new Promise((resolve) => {
      this.stream.write(frame(report), () => {
        this.reportedAt = performance.now();
        resolve(this.reportedAt);
      });
    });
  }

  whenReported(): Promise<number> {
    return this.reported;
  }

  /** Half-closes the stream and closes the connection, as a sidecar shutting down does. */
  close(): void {
    this.closedByUs = true;
    if (!this.stream.destroyed) this.stream.end();
    if (!this.session.closed) this.session.close();
  }

  /** The ack daprd sends for a phase: id, namespace, operation and the version it holds. */
  ackBytes(operation: keyof typeof OPERATION_NUMBER, version: number): Buffer {
    const prefix = this.ackPrefixes[operation];
    const versionBytes = varint(version);
    const length = prefix.length + versionBytes.length;
    const framed = Buffer.allocUnsafe(5 + length);
    framed[0] = 0;
    framed.writeUInt32BE(length, 1);
    prefix.copy(framed, 5);
    for (let i = 0; i < versionBytes.length; i++) framed[5 + prefix.length + i] = versionBytes[i]!;
    return framed;
  }

  private end(reason: string): void {
    this.endReason ??= reason;
    if (this.ended) return;
    this.ended = true;
    this.options.listener.onEnd(this);
  }

  private onMessage(message: GrpcMessage): void {
    const order = this.options.observer ? (method.responseDeserialize(message.contiguous()) as ReceivedOrder) : message.orderHead();
    const step = daprdStep({ version: this.version, phase: this.phase }, order);
    switch (step.kind) {
      case 'ack':
        ({ version: this.version, phase: this.phase } = step.state);
        if (step.operation === 'UPDATE' && this.options.observer) {
          const hosts = new Set(Object.keys(order.tables?.entries[this.options.actorType]?.load_map ?? {}));
          this.options.listener.onUpdate(Number(order.version) || Number(order.tables?.version ?? 0), hosts);
        }
        if (!this.ended) this.stream.write(this.ackBytes(step.operation, this.version));
        if (step.operation === 'UNLOCK') this.options.listener.onUnlock(this, this.version, performance.now());
        break;
      case 'close':
        this.close();
        break;
      case 'ignore':
        break;
    }
  }
}

/** One received gRPC message: its bytes, possibly spread over several DATA chunks. */
export interface GrpcMessage {
  contiguous(): Buffer;
  /** The order's operation (field 2) and version (field 3), skipping its tables (field 1) without copying them. */
  orderHead(): ReceivedOrder;
}

/** Splits a stream of DATA chunks into length-prefixed gRPC messages, copying only when a caller asks for contiguous bytes. */
export class GrpcFrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): GrpcMessage[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: GrpcMessage[] = [];
    for (;;) {
      if (this.buffered < 5) break;
      const header = new ChunkCursor(this.chunks, 0);
      if (header.byte() !== 0) throw new Error('compressed gRPC messages are not expected');
      const length = ((header.byte() << 24) | (header.byte() << 16) | (header.byte() << 8) | header.byte()) >>> 0;
      if (this.buffered < 5 + length) break;
      messages.push(this.take(5 + length).slice(5));
    }
    return messages;
  }

  /** Removes the first `n` bytes as a message view. */
  private take(n: number): MessageView {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const first = this.chunks[0]!;
      if (first.length <= left) {
        parts.push(first);
        this.chunks.shift();
        left -= first.length;
      } else {
        parts.push(first.subarray(0, left));
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    return new MessageView(parts, n);
  }
}

class MessageView implements GrpcMessage {
  constructor(
    private readonly parts: Buffer[],
    private readonly length: number,
    private readonly start = 0,
  ) {}

  slice(start: number): MessageView {
    return new MessageView(this.parts, this.length, this.start + start);
  }

  contiguous(): Buffer {
    const whole = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length);
    return whole.subarray(this.start);
  }

  orderHead(): ReceivedOrder {
    const cursor = new ChunkCursor(this.parts, this.start);
    let operation = '';
    let version = 0;
    while (cursor.offset < this.length) {
      const key = cursor.varint();
      const field = key >>> 3;
      const wireType = key & 7;
      if (wireType === 0) {
        const value = cursor.varint();
        if (field === 3) version = value;
      } else if (wireType === 2) {
        const n = cursor.varint();
        if (field === 2) operation = cursor.text(n);
        else cursor.skip(n);
      } else {
        throw new Error(`unexpected wire type ${wireType} in PlacementOrder`);
      }
    }
    return { operation, version: String(version), tables: null };
  }
}

/** A read position over a list of chunks. */
class ChunkCursor {
  private index = 0;
  private within: number;

  constructor(
    private readonly chunks: readonly Buffer[],
    /** Bytes from the start of the first chunk. */
    public offset: number,
  ) {
    this.within = offset;
    while (this.index < chunks.length && this.within >= chunks[this.index]!.length) this.within -= chunks[this.index++]!.length;
  }

  byte(): number {
    const chunk = this.chunks[this.index];
    if (!chunk) throw new Error('truncated gRPC message');
    const value = chunk[this.within++]!;
    this.offset++;
    if (this.within >= chunk.length) {
      this.index++;
      this.within = 0;
    }
    return value;
  }

  /** A varint below 2^53 (versions and lengths here are far below). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
  }

  skip(n: number): void {
    this.offset += n;
    this.within += n;
    while (this.index < this.chunks.length && this.within >= this.chunks[this.index]!.length) this.within -= this.chunks[this.index++]!.length;
  }

  /** A short text (an operation name): decoded as UTF-8 from its bytes. */
  text(n: number): string {
    const chunk = this.chunks[this.index];
    if (chunk && this.within + n <= chunk.length) {
      const value = chunk.toString('utf8', this.within, this.within + n);
      this.skip(n);
      return value;
    }
    const bytes: number[] = [];
    for (let i = 0; i < n; i++) bytes.push(this.byte());
    return Buffer.from(bytes).toString('utf8');
  }
}

function frame(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}

function lengthDelimited(field: number, text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);
}

/** Checks the hand-made ack against the upstream proto once: a wrong byte would make every measurement meaningless. */
export function checkAckEncoding(sidecar: H2Sidecar, id: string, namespace: string): void {
  for (const [operation, version] of [['LOCK', 0], ['UPDATE', 300], ['UNLOCK', 2 ** 40]] as const) {
    const decoded = method.requestDeserialize(sidecar.ackBytes(operation, version).subarray(5)) as Record<string, unknown>;
    if (decoded.id !== id || decoded.namespace !== namespace || decoded.operation !== operation || decoded.version !== String(version)) {
      throw new Error(`hand-encoded ack reads back as ${JSON.stringify(decoded)}`);
    }
  }
}
