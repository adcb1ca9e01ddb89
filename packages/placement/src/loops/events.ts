import type { PlacementError } from '../errors.js';
import type { Host, PlacementOrder, StatePlacementTable, StatePlacementTables } from '../table/messages.js';

/**
 * One sidecar's stream as the loops see it: an id, a way to send orders and a
 * way to end it with a reason. The server edge implements it over a gRPC
 * call; tests implement it with a recorder.
 */
export interface StreamHandle {
  readonly id: number;
  /** The remote address, for logs. */
  readonly peer: string;
  send(order: PlacementOrder): void;
  /** Ends the stream with the error's status. Idempotent. */
  close(error: PlacementError): void;
}

/** The operations that acknowledge a phase; UNKNOWN is how ≤1.16 sidecars' heartbeats arrive. */
export type AckOperation = 'UNKNOWN' | 'LOCK' | 'UPDATE' | 'UNLOCK';

/** What the server edge reports about a stream. Host messages arrive checked and with parsed versions. */
export type StreamEvent =
  /** A new stream and its first Host message (a REPORT from current daprd). */
  | { readonly type: 'stream-connected'; readonly stream: StreamHandle; readonly host: Host }
  /** A later REPORT: the sidecar's actor types changed. */
  | { readonly type: 'host-reported'; readonly streamId: number; readonly host: Host }
  /** An acknowledgement of a round phase, echoing the round version (absent from ≤1.16 heartbeats). */
  | { readonly type: 'ack'; readonly streamId: number; readonly operation: AckOperation; readonly version: number | undefined; readonly host: Host }
  /** The stream ended, for whatever reason (client gone, keepalive timeout, closed by us). */
  | { readonly type: 'stream-closed'; readonly streamId: number };

/** The events of one namespace's loop. */
export type NamespaceEvent =
  | StreamEvent
  | { readonly type: 'dissemination-timeout'; readonly version: number }
  | { readonly type: 'coalesce-tick' }
  | { readonly type: 'table-requested'; readonly reply: (table: StatePlacementTable) => void }
  | { readonly type: 'shutdown'; readonly error: PlacementError };

/** The events of the loop that routes streams to their namespace's loop. */
export type RouterEvent =
  | StreamEvent
  | { readonly type: 'namespace-idle'; readonly namespace: string }
  | { readonly type: 'state-requested'; readonly reply: (tables: StatePlacementTables) => void }
  | { readonly type: 'shutdown'; readonly error: PlacementError };

/** A round's phases; REPORT is "no round in progress". */
export type Phase = 'REPORT' | 'LOCK' | 'UPDATE' | 'UNLOCK';

/** How the loops tell the outside what happened, for metrics. */
export interface LoopObserver {
  /** Streams taking part in a namespace, and how many of them host actors. */
  runtimes(namespace: string, total: number, withActors: number): void;
  /** A round ended: all acked (`completed`), laggards cut (`timeout`), or every stream gone (`abandoned`). */
  roundEnded(namespace: string, outcome: RoundOutcome, durationMs: number): void;
  /** One stream's ack of a phase, timed from when the phase was sent. */
  acked(namespace: string, phase: Exclude<Phase, 'REPORT'>, latencyMs: number): void;
  /** A stream the loop closed, by reason. */
  streamClosed(namespace: string, error: PlacementError): void;
}

export type RoundOutcome = 'completed' | 'timeout' | 'abandoned';

export const NOOP_OBSERVER: LoopObserver = {
  runtimes: () => undefined,
  roundEnded: () => undefined,
  acked: () => undefined,
  streamClosed: () => undefined,
};

/** For an exhaustive switch's default branch: a compile error when a case is missing. */
export function unreachable(value: never): never {
  throw new Error(`unhandled event ${JSON.stringify(value)}`);
}
