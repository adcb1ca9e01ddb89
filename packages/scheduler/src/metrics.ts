import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type JobTypeLabel = 'job' | 'actor' | 'unknown';

/**
 * Upstream's metric names and labels (dapr/dapr:pkg/scheduler/monitoring/metrics.go),
 * plus tsdapr's own: trigger lateness, ack time, duplicates and staging.
 */
export interface SchedulerMetrics {
  streamsConnected(delta: 1 | -1): void;
  created(type: JobTypeLabel): void;
  createFailed(type: JobTypeLabel): void;
  deleted(type: JobTypeLabel): void;
  bulkDeleted(): void;
  triggered(type: JobTypeLabel, outcome: 'success' | 'failed' | 'undeliverable', ackMs: number | undefined): void;
  lateness(type: JobTypeLabel, ms: number): void;
  /** An outcome that could not be written because the job had moved on: a duplicate delivery, or one of a job overwritten or deleted meanwhile. */
  staleOutcome(type: JobTypeLabel): void;
  sidecarError(reason: 'send_failed' | 'recv_failed' | 'auth_failed'): void;
  staged(count: number): void;
  loaded(count: number): void;
}

export function createSchedulerMetrics(registry: Registry): SchedulerMetrics {
  const registers = [registry];
  const sidecars = new Gauge({ name: 'dapr_scheduler_sidecars_connected', help: 'Open WatchJobs streams on this replica', registers });
  const created = new Counter({ name: 'dapr_scheduler_jobs_created_total', help: 'Jobs scheduled', labelNames: ['type'], registers });
  const createFailed = new Counter({ name: 'dapr_scheduler_jobs_created_failed_total', help: 'ScheduleJob calls that failed', labelNames: ['type'], registers });
  const deleted = new Counter({ name: 'dapr_scheduler_jobs_deleted_total', help: 'DeleteJob calls', labelNames: ['type'], registers });
  const bulkDeleted = new Counter({ name: 'dapr_scheduler_jobs_bulk_deleted_total', help: 'DeleteByMetadata and DeleteByNamePrefix calls', registers });
  const triggered = new Counter({ name: 'dapr_scheduler_jobs_triggered_total', help: 'Triggers acked SUCCESS', labelNames: ['type'], registers });
  const failed = new Counter({ name: 'dapr_scheduler_jobs_failed_total', help: 'Triggers acked FAILED', labelNames: ['type'], registers });
  const undelivered = new Counter({ name: 'dapr_scheduler_jobs_undelivered_total', help: 'Triggers no stream could take, or whose stream ended before the ack', labelNames: ['type'], registers });
  const latency = new Histogram({ name: 'dapr_scheduler_trigger_latency', help: 'Milliseconds from sending a trigger to its ack', labelNames: ['type'], buckets: [0, 100, 500, 1000, 5000, 10000], registers });
  const lateness = new Histogram({
    name: 'tsdapr_scheduler_trigger_lateness_seconds',
    help: 'Seconds from a trigger\'s due time to sending it',
    labelNames: ['type'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const ack = new Histogram({
    name: 'tsdapr_scheduler_ack_seconds',
    help: 'Seconds from sending a trigger to its ack',
    labelNames: ['type'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers,
  });
  const stale = new Counter({ name: 'tsdapr_scheduler_stale_outcomes_total', help: 'Trigger outcomes not written because the job had moved on (duplicate deliveries after a failover, or overwritten/deleted jobs)', labelNames: ['type'], registers });
  const sidecarErrors = new Counter({ name: 'dapr_scheduler_sidecar_errors_total', help: 'Stream and authorization errors', labelNames: ['reason'], registers });
  const staged = new Gauge({ name: 'tsdapr_scheduler_staged_jobs', help: 'Due jobs waiting in memory for a stream of their app or actor type', registers });
  const loaded = new Gauge({ name: 'tsdapr_scheduler_loaded_jobs', help: 'Due-soon jobs held in memory', registers });
  return {
    streamsConnected: (delta) => sidecars.inc(delta),
    created: (type) => created.inc({ type }),
    createFailed: (type) => createFailed.inc({ type }),
    deleted: (type) => deleted.inc({ type }),
    bulkDeleted: () => bulkDeleted.inc(),
    triggered(type, outcome, ackMs) {
      if (outcome === 'success') triggered.inc({ type });
      else if (outcome === 'failed') failed.inc({ type });
      else undelivered.inc({ type });
      if (ackMs !== undefined && outcome !== 'undeliverable') {
        latency.observe({ type }, ackMs);
        ack.observe({ type }, ackMs / 1000);
      }
    },
    lateness: (type, ms) => lateness.observe({ type }, Math.max(0, ms) / 1000),
    staleOutcome: (type) => stale.inc({ type }),
    sidecarError: (reason) => sidecarErrors.inc({ reason }),
    staged: (count) => staged.set(count),
    loaded: (count) => loaded.set(count),
  };
}
