export { collectStatus, imageVersion, parsePlacementState, podsWithoutSidecar, groupComponents, CONTROL_PLANE_WORKLOADS, type CollectOptions } from './collect-status.js';
export { formatJson, formatTable, statusWarnings } from './format-status.js';
export { bundleStatus, certificateStatus, splitPemCertificates } from './certificates.js';
export { parseStatusOptions, STATUS_FLAGS, type StatusOptions, type OutputFormat } from './options.js';
export { runStatus } from './status-command.js';
export type * from './status-model.js';
