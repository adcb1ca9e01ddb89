import { Counter, Gauge, type Registry } from 'prom-client';

export interface OperatorMetrics {
  readonly serviceCreated: Counter<'app_id'>;
  readonly serviceUpdated: Counter<'app_id'>;
  readonly serviceDeleted: Counter<'app_id'>;
  /** Beyond upstream: a Component or HTTPEndpoint left out of a reply because a Secret it needs is missing. */
  readonly secretResolutionFailures: Counter<'namespace' | 'kind' | 'name' | 'secret' | 'code'>;
  readonly openStreams: Gauge<'kind'>;
  readonly reconcileErrors: Counter<'controller' | 'code'>;
  /** Beyond upstream: each watch of a Dapr resource cache that ended, and why (a restart follows). */
  readonly watchEnds: Counter<'cache' | 'reason'>;
}

export function createOperatorMetrics(registry: Registry): OperatorMetrics {
  return {
    serviceCreated: new Counter({ name: 'dapr_operator_service_created_total', help: 'The number of dapr services created.', labelNames: ['app_id'], registers: [registry] }),
    serviceUpdated: new Counter({ name: 'dapr_operator_service_updated_total', help: 'The number of dapr services updated.', labelNames: ['app_id'], registers: [registry] }),
    serviceDeleted: new Counter({ name: 'dapr_operator_service_deleted_total', help: 'The number of dapr services deleted.', labelNames: ['app_id'], registers: [registry] }),
    secretResolutionFailures: new Counter({
      name: 'dapr_operator_secret_resolution_failures_total',
      help: 'Resources left out of an API reply or event because a secretKeyRef could not be resolved.',
      labelNames: ['namespace', 'kind', 'name', 'secret', 'code'],
      registers: [registry],
    }),
    openStreams: new Gauge({ name: 'dapr_operator_api_open_streams', help: 'Open update streams by resource kind.', labelNames: ['kind'], registers: [registry] }),
    reconcileErrors: new Counter({ name: 'dapr_operator_reconcile_errors_total', help: 'Failed reconciles by controller and error code.', labelNames: ['controller', 'code'], registers: [registry] }),
    watchEnds: new Counter({
      name: 'tsdapr_operator_watch_ends_total',
      help: 'Watches of the operator caches (Dapr resources, deployments, statefulsets, dapr-services) that ended and were restarted, by cache and reason (closed, expired, stalled, failed).',
      labelNames: ['cache', 'reason'],
      registers: [registry],
    }),
  };
}
