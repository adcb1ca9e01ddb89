import type { KeyObject } from 'node:crypto';
import type { Issuer, SignedCert } from '@tsdapr/pki';
import { TsdaprError } from '@tsdapr/runtime';
import type { SentryConfig } from '../config/sentry-config.js';

export class SigningError extends TsdaprError {}

export interface CertificateAuthority {
  sign(request: { spiffeId: string; dnsNames?: readonly string[]; publicKey: KeyObject }): SignedCert;
}

/**
 * Signs with whatever issuer is in force. Unlike upstream (dapr/dapr#8557) it
 * refuses to hand out a leaf the issuer cannot cover: one signed by an expired
 * issuer, or outliving it, fails TLS at the peer later and far less clearly.
 */
export function createCertificateAuthority(deps: { issuer: () => Issuer | undefined; config: () => SentryConfig; now: () => Date }): CertificateAuthority {
  return {
    sign(request) {
      const issuer = deps.issuer();
      if (!issuer) throw new SigningError('ca_not_ready', 'the trust bundle is not loaded yet');
      const now = deps.now();
      const { workloadCertTtlMs, allowedClockSkewMs } = deps.config();
      if (issuer.notAfter.getTime() <= now.getTime()) {
        throw new SigningError('issuer_expired', `the issuer certificate expired at ${issuer.notAfter.toISOString()}; rotate issuer.crt and issuer.key in the trust bundle`);
      }
      const leafExpiry = now.getTime() + workloadCertTtlMs;
      if (issuer.notAfter.getTime() < leafExpiry) {
        throw new SigningError(
          'issuer_expires_before_leaf',
          `the issuer certificate expires at ${issuer.notAfter.toISOString()}, before a ${workloadCertTtlMs / 3_600_000}h workload certificate would; rotate the issuer`,
        );
      }
      return issuer.sign({ spiffeId: request.spiffeId, dnsNames: request.dnsNames ?? [], publicKey: request.publicKey, now, ttlMs: workloadCertTtlMs, allowedClockSkewMs });
    },
  };
}

/**
 * DNS SANs upstream adds for control-plane identities in sentry's namespace:
 * their certificates also serve the API server's webhook calls.
 */
export function controlPlaneDnsNames(id: string, namespace: string, sentryNamespace: string, clusterDomain = 'cluster.local'): string[] {
  if (namespace !== sentryNamespace) return [];
  switch (id) {
    case 'dapr-injector':
      return [`dapr-sidecar-injector.${namespace}.svc`];
    case 'dapr-operator':
      return [`dapr-webhook.${namespace}.svc`];
    case 'dapr-scheduler':
      return [0, 1, 2].map((i) => `dapr-scheduler-server-${i}.dapr-scheduler-server.${namespace}.svc.${clusterDomain}`);
    default:
      return [];
  }
}
