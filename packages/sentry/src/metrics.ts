import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Upstream's metric names (dapr_sentry_*), plus tsdapr's own (tsdapr_sentry_*). */
export interface SentryMetrics {
  readonly signRequestsReceived: Counter;
  readonly signSuccess: Counter;
  readonly signFailure: Counter<'reason'>;
  readonly signDuration: Histogram<'outcome'>;
  readonly serverCertIssueFailed: Counter<'reason'>;
  readonly issuerCertChanged: Counter;
  readonly issuerCertExpiry: Gauge;
  readonly trustAnchorExpiry: Gauge<'subject'>;
  readonly bundleError: Gauge<'code'>;
}

export function createSentryMetrics(registry: Registry): SentryMetrics {
  const registers = [registry];
  return {
    signRequestsReceived: new Counter({ name: 'dapr_sentry_cert_sign_request_received_total', help: 'Certificate signing requests received.', registers }),
    signSuccess: new Counter({ name: 'dapr_sentry_cert_sign_success_total', help: 'Certificates signed.', registers }),
    signFailure: new Counter({ name: 'dapr_sentry_cert_sign_failure_total', help: 'Signing requests refused or failed, by reason.', labelNames: ['reason'], registers }),
    signDuration: new Histogram({
      name: 'tsdapr_sentry_cert_sign_duration_seconds',
      help: 'Time from request to response of SignCertificate, validation included.',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    serverCertIssueFailed: new Counter({ name: 'dapr_sentry_servercert_issue_failed_total', help: "Failures to issue sentry's own serving certificate.", labelNames: ['reason'], registers }),
    issuerCertChanged: new Counter({ name: 'dapr_sentry_issuercert_changed_total', help: 'Times the issuer certificate was (re)loaded with a new value.', registers }),
    issuerCertExpiry: new Gauge({ name: 'dapr_sentry_issuercert_expiry_timestamp', help: 'Expiry of the issuer certificate, Unix seconds.', registers }),
    trustAnchorExpiry: new Gauge({ name: 'tsdapr_sentry_trust_anchor_expiry_timestamp', help: 'Expiry of each trust anchor, Unix seconds.', labelNames: ['subject'], registers }),
    bundleError: new Gauge({ name: 'tsdapr_sentry_trust_bundle_error', help: '1 while the stored trust bundle cannot be used, by error code.', labelNames: ['code'], registers }),
  };
}
