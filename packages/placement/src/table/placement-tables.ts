import type { Host, PlacementTable, PlacementTables } from './messages.js';

/** Upstream's `--replicationFactor` default: the virtual nodes per host on daprd's hash ring. */
export const DEFAULT_REPLICATION_FACTOR = 100;

/**
 * The full table of a namespace at a round version: for each actor type, the
 * hosts that serve it, keyed by host name, each the `Host` as reported.
 * daprd builds its hash ring from `load_map` and `replication_factor`, so the
 * ring itself is not sent. Hosts come in stream order; when two streams
 * report the same host name (a sidecar that reconnected before its old
 * stream was noticed gone), the later stream wins. The deprecated
 * `api_level` is left unset, as upstream 1.17+ does.
 */
export function buildPlacementTables(hosts: Iterable<Host>, version: number, replicationFactor: number): PlacementTables {
  const loadMaps = new Map<string, Record<string, Host>>();
  for (const host of hosts) {
    for (const entity of host.entities) {
      let loadMap = loadMaps.get(entity);
      if (!loadMap) {
        loadMap = {};
        loadMaps.set(entity, loadMap);
      }
      loadMap[host.name] = host;
    }
  }
  const entries: Record<string, PlacementTable> = {};
  for (const entity of [...loadMaps.keys()].sort()) entries[entity] = { load_map: loadMaps.get(entity) ?? {} };
  return { entries, version: String(version), replication_factor: replicationFactor };
}
