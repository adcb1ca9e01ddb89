export { buildPlacementTables, DEFAULT_REPLICATION_FACTOR } from './table/placement-tables.js';
export { HostStore } from './table/host-store.js';
export type { Host, HostOperation, PlacementOrder, PlacementTable, PlacementTables, StatePlacementTable, StatePlacementTables, OrderOperation } from './table/messages.js';
