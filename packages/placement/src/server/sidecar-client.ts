import { Client, credentials as grpcCredentials, type ChannelCredentials, type ChannelOptions, type ClientDuplexStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { placementService } from '@tsdapr/grpc';
import type { WireHost } from './check-host.js';

/** A `PlacementOrder` as a client decodes it (64-bit numbers as strings). */
export interface ReceivedOrder {
  readonly operation: string;
  readonly version: string;
  readonly tables: {
    readonly version: string;
    readonly replication_factor: string;
    readonly entries: Record<string, { readonly load_map: Record<string, WireHost> }>;
  } | null;
}

export interface SidecarClientOptions {
  /** host:port of a placement server. */
  readonly address: string;
  /** The sidecar's `name` (`<ip>:<port>`), app id, namespace and actor types. */
  readonly name: string;
  readonly id: string;
  readonly namespace: string;
  readonly entities?: readonly string[];
  readonly credentials?: ChannelCredentials;
  readonly channelOptions?: ChannelOptions;
  /** Ack orders as daprd does (default true). Off: a sidecar that never acks. */
  readonly autoAck?: boolean;
  /** Send the REPORT on connect (default true). Off: for tests that open with something else. */
  readonly initialReport?: boolean;
  /**
   * Decode the tables of each update (default true). Off: only operation
   * and version are read, so that one load-generating process can play
   * thousands of sidecars without spending its time decoding tables.
   */
  readonly decodeTables?: boolean;
}

export type DaprdPhase = 'REPORT' | 'LOCK' | 'UPDATE' | 'UNLOCK';

/** The round a daprd stream is in: the version it holds and the last phase it acked. */
export interface DaprdStreamState {
  readonly version: number;
  readonly phase: DaprdPhase;
}

export type DaprdStep =
  | { readonly kind: 'ack'; readonly operation: 'LOCK' | 'UPDATE' | 'UNLOCK'; readonly state: DaprdStreamState }
  | { readonly kind: 'ignore' }
  | { readonly kind: 'close' };

/**
 * What a v1.17 daprd does with one placement order (dapr/dapr:pkg/actors/internal/placement/loops/disseminator@v1.17.5): ack a lock
 * and take its version; ack an update unless it is older than the lock
 * (then close the stream); ack an unlock only after an update, taking its
 * version; close on anything else. Every simulated sidecar follows this.
 */
export function daprdStep(state: DaprdStreamState, order: ReceivedOrder): DaprdStep {
  const version = Number(order.version) || Number(order.tables?.version ?? 0);
  switch (order.operation) {
    case 'lock':
      return { kind: 'ack', operation: 'LOCK', state: { version, phase: 'LOCK' } };
    case 'update':
      if (version < state.version) return { kind: 'close' };
      return { kind: 'ack', operation: 'UPDATE', state: { version: state.version, phase: 'UPDATE' } };
    case 'unlock':
      if (state.phase !== 'UPDATE') return { kind: 'ignore' };
      return { kind: 'ack', operation: 'UNLOCK', state: { version, phase: 'UNLOCK' } };
    default:
      return { kind: 'close' };
  }
}

/**
 * A client that behaves like a v1.17 daprd on the placement stream: it
 * REPORTs on connect (api_level 20, no version), acks each lock, update and
 * unlock with the order's version, closes the stream on an update older
 * than its lock, and keeps the last table it was unlocked with. For tests
 * and load generation.
 */
export class SidecarClient {
  readonly orders: ReceivedOrder[] = [];
  /** When this client opened its stream (ms since the epoch). */
  readonly createdAt = Date.now();
  /** The stream's final status, once it ended. */
  readonly ended: Promise<StatusObject>;
  /** The table of the last completed round (after its unlock), and that round's version. */
  table: ReceivedOrder['tables'] = null;
  unlockedVersion: number | undefined;
  private readonly call: ClientDuplexStream<WireHost, ReceivedOrder>;
  private readonly client: Client;
  private version = 0;
  private pendingTable: ReceivedOrder['tables'] = null;
  private phase: DaprdPhase = 'REPORT';
  private endedStatus: StatusObject | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(readonly options: SidecarClientOptions) {
    const method = placementService().service.ReportDaprStatus;
    if (!method) throw new Error('the placement proto has no ReportDaprStatus');
    this.client = new Client(options.address, options.credentials ?? grpcCredentials.createInsecure(), options.channelOptions);
    this.call = this.client.makeBidiStreamRequest<WireHost, ReceivedOrder>(
      method.path,
      (message) => method.requestSerialize(message),
      options.decodeTables === false ? decodeOrderHead : (bytes) => method.responseDeserialize(bytes) as ReceivedOrder,
    );
    this.ended = new Promise((resolve) => {
      const finish = (status: StatusObject): void => {
        if (this.endedStatus) return;
        this.endedStatus = status;
        resolve(status);
        this.notify();
      };
      this.call.on('status', finish);
      this.call.on('error', (err: ServiceError) => finish({ code: err.code, details: err.details, metadata: err.metadata }));
    });
    this.call.on('data', (order: ReceivedOrder) => this.onOrder(order));
    if (options.initialReport !== false) this.report(options.entities ?? []);
  }

  /** The orders so far in short form: `lock@1`, `update@1{a:h1,h2}`, `unlock@1`. */
  get log(): string[] {
    return this.orders.map((order) => {
      if (!order.tables) return `${order.operation}@${order.version}`;
      const entries = Object.entries(order.tables.entries)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([type, table]) => `${type}:${Object.keys(table.load_map).sort().join(',')}`)
        .join(';');
      return `${order.operation}@${order.version}{${entries}}`;
    });
  }

  /** The hosts of each actor type in the last completed round: `{ a: ['h1', 'h2'] }`. */
  get members(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [type, table] of Object.entries(this.table?.entries ?? {})) out[type] = Object.keys(table.load_map).sort();
    return out;
  }

  get status(): StatusObject | undefined {
    return this.endedStatus;
  }

  /** Sends a raw Host message (for bad-input tests). */
  send(message: WireHost): void {
    if (!this.endedStatus) this.call.write(message);
  }

  /** Reports new actor types, as daprd does when they change. */
  report(entities: readonly string[]): void {
    this.send({ operation: 'REPORT', name: this.options.name, id: this.options.id, namespace: this.options.namespace, entities: [...entities], api_level: 20 });
  }

  /** Resolves once `predicate` holds (checked after every order and at the end), or rejects after `timeoutMs`. */
  waitFor(predicate: (client: this) => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.options.name}: timed out after ${timeoutMs}ms waiting for ${what}; orders: ${this.log.join(' ')}; status: ${JSON.stringify(this.endedStatus ?? null)}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Waits until the last completed round's table has exactly these hosts per actor type. */
  waitForMembers(members: Record<string, string[]>, timeoutMs = 5000): Promise<void> {
    const want = JSON.stringify(sortMembers(members));
    return this.waitFor((client) => JSON.stringify(sortMembers(client.members)) === want, timeoutMs, `members ${want}`);
  }

  /** Waits for the stream to end and returns its status. */
  async waitEnded(timeoutMs = 5000): Promise<StatusObject> {
    await this.waitFor((client) => client.status !== undefined, timeoutMs, 'the stream to end');
    return this.endedStatus as StatusObject;
  }

  /** Half-closes the stream and the channel, as a sidecar shutting down does. */
  close(): void {
    this.call.end();
    this.client.close();
  }

  /** Cancels the call (RST_STREAM), as a sidecar that gives up does. */
  cancel(): void {
    this.call.cancel();
    this.client.close();
  }

  private onOrder(order: ReceivedOrder): void {
    this.orders.push(order);
    if (this.options.autoAck !== false) {
      const step = daprdStep({ version: this.version, phase: this.phase }, order);
      switch (step.kind) {
        case 'ack':
          ({ version: this.version, phase: this.phase } = step.state);
          if (step.operation === 'UPDATE') this.pendingTable = order.tables;
          if (step.operation === 'UNLOCK') {
            this.table = this.pendingTable;
            this.unlockedVersion = this.version;
          }
          this.ack(step.operation);
          break;
        case 'close':
          this.close();
          break;
        case 'ignore':
          break;
      }
    }
    this.notify();
  }

  private ack(operation: 'LOCK' | 'UPDATE' | 'UNLOCK'): void {
    this.send({ operation, version: String(this.version), id: this.options.id, namespace: this.options.namespace });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function sortMembers(members: Record<string, string[]>): Array<[string, string[]]> {
  return Object.entries(members)
    .map(([type, hosts]): [string, string[]] => [type, [...hosts].sort()])
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

/**
 * Reads a PlacementOrder's operation (field 2) and version (field 3) and
 * skips its tables (field 1): protobuf wire format, just enough of it.
 */
export function decodeOrderHead(bytes: Buffer): ReceivedOrder {
  let operation = '';
  let version = 0n;
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = bytes[pos++];
      if (byte === undefined) throw new Error('truncated PlacementOrder');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < bytes.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wireType = key & 7;
    if (wireType === 0) {
      const value = varint();
      if (field === 3) version = value;
    } else if (wireType === 2) {
      const length = Number(varint());
      if (field === 2) operation = bytes.toString('utf8', pos, pos + length);
      pos += length;
    } else {
      throw new Error(`unexpected wire type ${wireType} in PlacementOrder`);
    }
  }
  return { operation, version: version.toString(), tables: null };
}
