import { inScope, type DaprResource } from './dapr-resource.js';

export type ResourceEventType = 'CREATED' | 'UPDATED' | 'DELETED';

export interface ResourceChange {
  readonly type: ResourceEventType;
  /** The object before the change (undefined for CREATED). */
  readonly old: DaprResource | undefined;
  /** The object after the change (for DELETED, the last known object). */
  readonly current: DaprResource;
}

export interface ScopedEvent {
  readonly type: ResourceEventType;
  readonly resource: DaprResource;
}

/**
 * What one caller receives for a change, by upstream's table
 * (`pkg/operator/api/informer`): out of scope before and after: nothing;
 * leaving scope: DELETED with the old object; entering scope on an update:
 * CREATED; otherwise the event as it is.
 */
export function scopedEvent(change: ResourceChange, appId: string): ScopedEvent | undefined {
  const before = change.old !== undefined && inScope(change.old, appId);
  const after = inScope(change.current, appId);
  switch (change.type) {
    case 'CREATED':
      return after ? { type: 'CREATED', resource: change.current } : undefined;
    case 'DELETED':
      return after ? { type: 'DELETED', resource: change.current } : undefined;
    case 'UPDATED':
      if (before && !after) return { type: 'DELETED', resource: change.old ?? change.current };
      if (!before && after) return { type: 'CREATED', resource: change.current };
      return after ? { type: 'UPDATED', resource: change.current } : undefined;
  }
}
