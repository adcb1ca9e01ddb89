import type { PlacementError } from '../errors.js';
import type { PlacementOrder } from '../table/messages.js';
import type { AckOperation, StreamHandle } from './events.js';

/**
 * A stream for tests: records what the loops send, and knows how a v1.17
 * daprd acks each order (the operation in capitals, the order's version).
 */
export class RecordingStream implements StreamHandle {
  readonly sent: PlacementOrder[] = [];
  closedWith: PlacementError | undefined;
  private acked = 0;

  constructor(
    readonly id: number,
    readonly peer = `peer-${id}`,
  ) {}

  send(order: PlacementOrder): void {
    if (this.closedWith) throw new Error(`send on closed stream ${this.id}`);
    this.sent.push(order);
  }

  close(error: PlacementError): void {
    this.closedWith ??= error;
  }

  /** The acks daprd would send for orders received since the last call, in order. */
  takeAcks(): Array<{ operation: AckOperation; version: number }> {
    const orders = this.sent.slice(this.acked);
    this.acked = this.sent.length;
    return orders.map((order) => ({ operation: order.operation.toUpperCase() as AckOperation, version: order.version }));
  }

  /** The orders in short form: `lock@1`, `update@1{a:h1,h2;b:h2}`, `unlock@1`. */
  get log(): string[] {
    return this.sent.map(describeOrder);
  }
}

export function describeOrder(order: PlacementOrder): string {
  if (!order.tables) return `${order.operation}@${order.version}`;
  const entries = Object.entries(order.tables.entries)
    .map(([type, table]) => `${type}:${Object.keys(table.load_map).sort().join(',')}`)
    .join(';');
  return `${order.operation}@${order.version}{${entries}}`;
}
