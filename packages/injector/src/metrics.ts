import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Upstream's metric names (dapr_injector_*), plus tsdapr's own (tsdapr_injector_*). */
export interface InjectorMetrics {
  readonly requests: Counter;
  readonly succeeded: Counter<'app_id'>;
  readonly failed: Counter<'app_id' | 'reason'>;
  /** Time to answer an AdmissionReview, by outcome. */
  readonly duration: Histogram<'outcome'>;
  /** Warnings and denials returned to clients, by diagnostic code. */
  readonly diagnostics: Counter<'severity' | 'code'>;
  readonly caBundlePatches: Counter<'result'>;
  /** Sidecars built for a daprd version the injector does not know (the newest, or for older ones the oldest, known shape). */
  readonly sidecarVersionFallbacks: Counter<'reason' | 'shape'>;
  /** Pods found with dapr.io/enabled "true" but no daprd (reported as Events). */
  readonly missedInjections: Counter;
  readonly missedInjectionsPending: Gauge;
}

export type AdmissionOutcome = 'injected' | 'already_injected' | 'not_enabled' | 'unauthorized' | 'not_pod' | 'denied' | 'invalid_pod' | 'error' | 'bad_request';

export function createInjectorMetrics(registry: Registry): InjectorMetrics {
  const registers = [registry];
  return {
    requests: new Counter({ name: 'dapr_injector_sidecar_injection_requests_total', help: 'The total number of sidecar injection requests.', registers }),
    succeeded: new Counter({ name: 'dapr_injector_sidecar_injection_succeeded_total', help: 'The total number of successful sidecar injections.', labelNames: ['app_id'], registers }),
    failed: new Counter({ name: 'dapr_injector_sidecar_injection_failed_total', help: 'The total number of failed sidecar injections.', labelNames: ['app_id', 'reason'], registers }),
    duration: new Histogram({
      name: 'tsdapr_injector_admission_duration_seconds',
      help: 'Time from reading an AdmissionReview to writing the answer, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    }),
    diagnostics: new Counter({ name: 'tsdapr_injector_annotation_diagnostics_total', help: 'Warnings and denials about pod annotations, by code.', labelNames: ['severity', 'code'], registers }),
    caBundlePatches: new Counter({ name: 'tsdapr_injector_ca_bundle_patches_total', help: 'Attempts to update the MutatingWebhookConfiguration caBundle, by result.', labelNames: ['result'], registers }),
    sidecarVersionFallbacks: new Counter({
      name: 'tsdapr_injector_sidecar_version_fallbacks_total',
      help: 'Sidecars whose daprd version is unknown, newer or older than the versions the injector knows, by reason and the shape built instead.',
      labelNames: ['reason', 'shape'],
      registers,
    }),
    missedInjections: new Counter({ name: 'tsdapr_injector_missed_injections_total', help: 'Pods found with dapr.io/enabled "true" but without a daprd sidecar, each reported once.', registers }),
    missedInjectionsPending: new Gauge({ name: 'tsdapr_injector_missed_injection_pods', help: 'Pods that currently have dapr.io/enabled "true" but no daprd sidecar.', registers }),
  };
}
