import type { InformerEvent } from '@tsdapr/kube';
import { keyOf, type DaprResource } from './dapr-resource.js';
import type { ResourceChange } from './scoped-event.js';

/**
 * Turns informer events into changes carrying the old object (the informer
 * gives only the new one), and drops resyncs and replays whose
 * resourceVersion did not move (upstream's resync filter), and updates that
 * only touched `status`. One feed per kind.
 */
export class ChangeFeed {
  private readonly lastSeen = new Map<string, DaprResource>();
  private readonly listeners = new Set<(change: ResourceChange) => void>();

  /** Seeds what is already known (the cache after its first list) so its replay is not news. */
  seed(resources: readonly DaprResource[]): void {
    for (const resource of resources) this.lastSeen.set(keyOf(resource), resource);
  }

  subscribe(listener: (change: ResourceChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  handle(event: InformerEvent<DaprResource>): void {
    const change = this.toChange(event);
    if (!change) return;
    for (const listener of this.listeners) listener(change);
  }

  private toChange(event: InformerEvent<DaprResource>): ResourceChange | undefined {
    const key = keyOf(event.object);
    const old = this.lastSeen.get(key);
    switch (event.type) {
      case 'delete':
        this.lastSeen.delete(key);
        return { type: 'DELETED', old, current: event.object };
      case 'add':
      case 'update': {
        this.lastSeen.set(key, event.object);
        if (old && old.metadata?.resourceVersion === event.object.metadata?.resourceVersion) return undefined;
        // A status write (the operator's own Component status) is no news to a sidecar.
        if (old && sameExceptStatus(old, event.object)) return undefined;
        return { type: old ? 'UPDATED' : 'CREATED', old, current: event.object };
      }
    }
  }
}

/** Equal but for `status` and the metadata every write changes. */
function sameExceptStatus(a: DaprResource, b: DaprResource): boolean {
  const strip = ({ status: _status, metadata, ...rest }: DaprResource): unknown => {
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata ?? {};
    return { ...rest, metadata: meta };
  };
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}
