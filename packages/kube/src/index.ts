export { loadKubeConfig, KubeConfigError, IN_CLUSTER_TOKEN_PATH, type LoadKubeConfigOptions } from './kube-config.js';
export {
  createInformerCache,
  type InformerCache,
  type InformerCacheOptions,
  type InformerEvent,
  type InformerEventType,
  type InformerFactory,
} from './informer-cache.js';
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
  type KubeApiErrorCode,
  type KubeStatus,
} from './api-errors.js';
export { requestOptions } from './request-options.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
