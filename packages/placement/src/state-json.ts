import type { Host, StatePlacementTables } from './table/messages.js';

/**
 * `/placement/state` as upstream writes it: Go's encoding/json of the
 * `StatePlacementTables` proto struct, so fields with zero values are left
 * out and the host operation is its enum number.
 */
export function stateTablesJson(state: StatePlacementTables): unknown {
  const tables: Record<string, unknown> = {};
  for (const [namespace, table] of Object.entries(state.tables)) {
    tables[namespace] = omitEmpty({ hosts: table.hosts.map(hostJson), version: table.version });
  }
  return { tables };
}

const OPERATION_NUMBERS: Record<Host['operation'], number> = { UNKNOWN: 0, REPORT: 1, LOCK: 2, UPDATE: 3, UNLOCK: 4 };

function hostJson(host: Host): Record<string, unknown> {
  return omitEmpty({
    name: host.name,
    port: Number(host.port),
    load: Number(host.load),
    entities: host.entities,
    id: host.id,
    pod: host.pod,
    api_level: host.api_level,
    namespace: host.namespace,
    operation: OPERATION_NUMBERS[host.operation],
  });
}

function omitEmpty(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => !(value === 0 || value === '' || (Array.isArray(value) && value.length === 0))));
}
