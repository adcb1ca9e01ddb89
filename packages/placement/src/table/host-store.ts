import type { Host, PlacementTables, StatePlacementTable } from './messages.js';
import { buildPlacementTables } from './placement-tables.js';

/**
 * The actor hosts of one namespace, keyed by the stream that reported them.
 * Hosts without actor types are never stored: they have nothing to add to
 * the table (they still receive it). Not thread-safe and not meant to be:
 * one namespace loop owns one store.
 */
export class HostStore {
  private readonly hosts = new Map<number, Host>();

  constructor(private readonly replicationFactor: number) {}

  /**
   * Records a stream's report and says whether the table changed: a host
   * with actor types that is new, or whose sorted actor types, app id or
   * namespace differ from what is stored; or a stored host that now reports
   * no actor types (it is removed). The stored copy has its entities sorted.
   */
  set(streamId: number, host: Host): boolean {
    const entities = [...host.entities].sort();
    const existing = this.hosts.get(streamId);
    if (!existing) {
      if (entities.length === 0) return false;
    } else if (sameStrings(existing.entities, entities) && existing.id === host.id && existing.namespace === host.namespace) {
      return false;
    }
    if (entities.length === 0) this.hosts.delete(streamId);
    else this.hosts.set(streamId, { ...host, entities });
    return true;
  }

  has(streamId: number): boolean {
    return this.hosts.has(streamId);
  }

  get(streamId: number): Host | undefined {
    return this.hosts.get(streamId);
  }

  /** Removes a stream's host; says whether one was stored. */
  delete(streamId: number): boolean {
    return this.hosts.delete(streamId);
  }

  get size(): number {
    return this.hosts.size;
  }

  /** The full namespace table at `version` (hosts in stream order, later streams win a name clash). */
  placementTables(version: number): PlacementTables {
    return buildPlacementTables(this.inStreamOrder(), version, this.replicationFactor);
  }

  /** What `/placement/state` shows: the stored hosts sorted by name, and the version. */
  stateTable(version: number): StatePlacementTable {
    const hosts = [...this.hosts.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { hosts, version };
  }

  private inStreamOrder(): Host[] {
    return [...this.hosts.entries()].sort(([a], [b]) => a - b).map(([, host]) => host);
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
