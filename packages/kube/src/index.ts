export { PooledKubeConfig } from './pooled-kube-config.js';
export { loadKubeConfig, KubeConfigError, IN_CLUSTER_TOKEN_PATH, type LoadKubeConfigOptions } from './kube-config.js';
export {
  createInformerCache,
  stripManagedFields,
  type InformerCache,
  type InformerCacheOptions,
  type InformerEvent,
  type InformerEventType,
  type WatchEndReason,
} from './informer-cache.js';
export { kubeWatchOpener, type WatchOpener } from './watch-stream.js';
export {
  KubeApiError,
  httpStatusOf,
  kubeStatusOf,
  isNotFound,
  isConflict,
  isAlreadyExists,
  isGone,
  isForbidden,
  isUnauthorized,
  retryOnConflict,
  type KubeApiErrorCode,
  type KubeStatus,
} from './api-errors.js';
export { requestOptions } from './request-options.js';
export { backoffDelay, worthWarning, type BackoffOptions } from './backoff.js';
export { syncLoop, type SyncLoopOptions, type SyncState } from './sync-loop.js';
export { ManualClock, systemClock, type Clock, type Timer } from './clock.js';
export {
  leaseElection,
  type LeadershipCallbacks,
  type LeaseApi,
  type LeaseElectionOptions,
  type LeaseRecord,
  type LeaseTimings,
} from './lease-election.js';
export { kubeLeaseApi, type KubeLeaseApiOptions } from './kube-lease-api.js';
export { alwaysLeader, leaderTerms, type LeaderTerms, type LeaderTermsOptions } from './leader-terms.js';
