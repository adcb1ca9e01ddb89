export { createPlacement, type Placement, type PlacementDeps } from './placement.js';
export { parsePlacementOptions, PLACEMENT_FLAGS, type PlacementOptions, type PlacementMode } from './options.js';
export { PlacementError, type PlacementErrorCode } from './errors.js';
export { buildPlacementTables, DEFAULT_REPLICATION_FACTOR } from './table/placement-tables.js';
export { HostStore } from './table/host-store.js';
export { ManualClock, systemClock, type Clock, type Timer } from './loops/clock.js';
export { fileServingIdentity, type ServingIdentity } from './server/serving-identity.js';
export type { Host, HostOperation, PlacementOrder, PlacementTable, PlacementTables, StatePlacementTable, StatePlacementTables, OrderOperation } from './table/messages.js';
