import type { Logger } from '@tsdapr/runtime';
import type { PlacementError } from '../errors.js';
import type { StatePlacementTable, StatePlacementTables } from '../table/messages.js';
import type { Clock } from '@tsdapr/kube';
import { EventLoop } from './event-loop.js';
import { unreachable, type LoopObserver, type RouterEvent } from './events.js';
import { NamespaceLoop } from './namespace-loop.js';

export interface NamespacesOptions {
  readonly replicationFactor: number;
  readonly disseminateTimeoutMs: number;
  readonly coalesceWindowMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: LoopObserver;
}

/**
 * The loop in front of the namespace loops: it starts a namespace's loop
 * with its first stream, routes each stream's events to the loop of the
 * namespace the stream opened with, and discards a namespace's loop (and so
 * its version) when its last stream is gone. One instance serves one
 * leadership term: after `shutdown` it turns every new stream away.
 */
export class Namespaces {
  private readonly loop: EventLoop<RouterEvent>;
  private readonly loops = new Map<string, NamespaceLoop>();
  private readonly streamNamespaces = new Map<number, string>();
  private shutdownError: PlacementError | undefined;

  constructor(private readonly options: NamespacesOptions) {
    this.loop = new EventLoop<RouterEvent>(
      (event) => this.handle(event),
      (err, event) => options.logger.error({ err, event: event.type }, 'namespaces loop failed to handle an event'),
    );
  }

  enqueue(event: RouterEvent): void {
    this.loop.enqueue(event);
  }

  /** Every namespace's stored hosts and version, as `/placement/state` shows them. */
  stateTables(): Promise<StatePlacementTables> {
    return new Promise((resolve) => this.enqueue({ type: 'state-requested', reply: resolve }));
  }

  /** Namespaces with a loop right now. */
  get namespaces(): string[] {
    return [...this.loops.keys()].sort();
  }

  private handle(event: RouterEvent): void {
    switch (event.type) {
      case 'stream-connected': {
        if (this.shutdownError) {
          event.stream.close(this.shutdownError);
          return;
        }
        const namespace = event.host.namespace;
        let loop = this.loops.get(namespace);
        if (!loop) {
          loop = new NamespaceLoop({
            namespace,
            replicationFactor: this.options.replicationFactor,
            disseminateTimeoutMs: this.options.disseminateTimeoutMs,
            coalesceWindowMs: this.options.coalesceWindowMs,
            clock: this.options.clock,
            logger: this.options.logger.child({ namespace }),
            observer: this.options.observer,
            onIdle: (idle) => this.enqueue({ type: 'namespace-idle', namespace: idle }),
          });
          this.loops.set(namespace, loop);
        }
        this.streamNamespaces.set(event.stream.id, namespace);
        loop.enqueue(event);
        return;
      }
      case 'host-reported':
      case 'ack':
        this.loopOf(event.streamId)?.enqueue(event);
        return;
      case 'stream-closed': {
        const loop = this.loopOf(event.streamId);
        this.streamNamespaces.delete(event.streamId);
        loop?.enqueue(event);
        return;
      }
      case 'namespace-idle': {
        const loop = this.loops.get(event.namespace);
        if (!loop?.idle) return;
        loop.dispose();
        this.loops.delete(event.namespace);
        return;
      }
      case 'state-requested': {
        const tables: Record<string, StatePlacementTable> = {};
        let outstanding = this.loops.size;
        if (outstanding === 0) event.reply({ tables });
        for (const [namespace, loop] of this.loops) {
          loop.enqueue({
            type: 'table-requested',
            reply: (table) => {
              tables[namespace] = table;
              if (--outstanding === 0) event.reply({ tables });
            },
          });
        }
        return;
      }
      case 'shutdown':
        this.shutdownError = event.error;
        for (const loop of this.loops.values()) {
          loop.enqueue({ type: 'shutdown', error: event.error });
        }
        this.loops.clear();
        this.streamNamespaces.clear();
        return;
      default:
        unreachable(event);
    }
  }

  private loopOf(streamId: number): NamespaceLoop | undefined {
    const namespace = this.streamNamespaces.get(streamId);
    return namespace === undefined ? undefined : this.loops.get(namespace);
  }
}
