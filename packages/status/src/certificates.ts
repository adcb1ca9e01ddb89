import { X509Certificate } from 'node:crypto';
import type { CertificateStatus } from './status-model.js';

const DAY_MS = 86_400_000;

/** Splits a PEM bundle into its certificates, in order; other blocks are skipped. */
export function splitPemCertificates(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}

/** The expiry of one certificate relative to `now`, warning within `warnWithinMs`. */
export function certificateStatus(cert: { subject: string; validTo: string }, now: Date, warnWithinMs: number): CertificateStatus {
  const notAfter = new Date(cert.validTo);
  const leftMs = notAfter.getTime() - now.getTime();
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor(leftMs / DAY_MS),
    warning: leftMs < warnWithinMs,
    expired: leftMs <= 0,
  };
}

/** Every certificate of a PEM bundle; throws on a block that is not a certificate. */
export function bundleStatus(pem: string, now: Date, warnWithinMs: number): CertificateStatus[] {
  return splitPemCertificates(pem).map((block) => certificateStatus(new X509Certificate(block), now, warnWithinMs));
}
