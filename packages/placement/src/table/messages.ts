/**
 * The `dapr.proto.placement.v1` messages as plain data, in the shape the
 * upstream protos take through `@grpc/proto-loader` with this repo's options
 * (field names as in the .proto, enums by name, 64-bit integers as decimal
 * strings on the way in; numbers or strings accepted on the way out).
 */

/** `HostOperation`; what a sidecar says it is doing in a `Host` message. */
export type HostOperation = 'UNKNOWN' | 'REPORT' | 'LOCK' | 'UPDATE' | 'UNLOCK';

export const HOST_OPERATIONS: readonly HostOperation[] = ['UNKNOWN', 'REPORT', 'LOCK', 'UPDATE', 'UNLOCK'];

/** `Host`, as a sidecar reports it (daprd → placement). */
export interface Host {
  /** `<host-ip>:<internal-grpc-port>`; the key of the host in a table. */
  readonly name: string;
  readonly port: string | number;
  /** Deprecated. */
  readonly load: string | number;
  readonly entities: readonly string[];
  /** The app id. */
  readonly id: string;
  /** Deprecated. */
  readonly pod: string;
  /** Deprecated; current daprd still sends 20. */
  readonly api_level: number;
  readonly namespace: string;
  readonly operation: HostOperation;
  /** `optional uint64`: absent means unset, which matters. */
  readonly version?: string | number;
}

/** `PlacementTable`: the hosts of one actor type. The deprecated fields stay empty. */
export interface PlacementTable {
  readonly load_map: Readonly<Record<string, Host>>;
}

/** `PlacementTables`: the whole table of a namespace, sent with every `update`. */
export interface PlacementTables {
  readonly entries: Readonly<Record<string, PlacementTable>>;
  /** Deprecated: the round number in decimal. */
  readonly version: string;
  readonly replication_factor: number;
}

/** The `operation` strings of a `PlacementOrder`. */
export type OrderOperation = 'lock' | 'update' | 'unlock';

/** `PlacementOrder` (placement → daprd). Only `update` carries tables. */
export interface PlacementOrder {
  readonly operation: OrderOperation;
  readonly version: number;
  readonly tables?: PlacementTables;
}

/** `StatePlacementTable` from `state.proto`: what `/placement/state` shows per namespace. */
export interface StatePlacementTable {
  readonly hosts: readonly Host[];
  readonly version: number;
}

/** `StatePlacementTables`: every namespace, keyed by name. */
export interface StatePlacementTables {
  readonly tables: Readonly<Record<string, StatePlacementTable>>;
}
