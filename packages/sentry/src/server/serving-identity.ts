import { generateKeyPair } from '@tsdapr/pki';
import type { TlsMaterial } from '@tsdapr/grpc';
import { errorCode, sleep, type Logger, type Runner } from '@tsdapr/runtime';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { SentryMetrics } from '../metrics.js';

/**
 * Sentry's own serving certificate: an SVID for `.../dapr-sentry` signed in
 * memory by its CA, renewed at half its life and whenever the issuer changes.
 */
export function servingIdentity(deps: { ca: CertificateAuthority; spiffeId: string; tls: TlsMaterial; metrics: SentryMetrics; logger: Logger; now: () => Date }): { issue(): void; runner: Runner } {
  let renewAt = Number.POSITIVE_INFINITY;
  let wake: (() => void) | undefined;

  const issue = (): void => {
    try {
      const { privateKey, publicKey } = generateKeyPair('ecdsa-p256');
      const signed = deps.ca.sign({ spiffeId: deps.spiffeId, publicKey });
      deps.tls.setIdentity({ certificateChainPem: signed.certificatePem, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
      renewAt = signed.notBefore.getTime() + (signed.notAfter.getTime() - signed.notBefore.getTime()) / 2;
      deps.logger.info({ spiffeId: deps.spiffeId, expiry: signed.notAfter.toISOString() }, 'serving certificate issued');
    } catch (err) {
      deps.metrics.serverCertIssueFailed.inc({ reason: errorCode(err) });
      deps.logger.error({ err }, 'issuing the serving certificate failed; retrying in 10s');
      renewAt = deps.now().getTime() + 10_000;
    }
    wake?.();
  };

  const runner: Runner = async (signal) => {
    while (!signal.aborted) {
      const wait = Math.max(1000, Math.min(renewAt - deps.now().getTime(), 60_000));
      await Promise.race([sleep(wait, signal), new Promise<void>((resolve) => (wake = resolve))]);
      if (!signal.aborted && deps.now().getTime() >= renewAt) issue();
    }
  };

  return { issue, runner };
}
