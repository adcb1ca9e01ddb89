import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { TlsMaterial, formatSpiffeId, type SignCertificateRequest } from '@tsdapr/grpc';
import { createCsr, generateKeyPair, type KeyAlgorithm } from '@tsdapr/pki';
import { Latch, errorMessage, sleep, type Logger, type Runner } from '@tsdapr/runtime';
import { sentryClient } from './sentry-client.js';
import { watchTrustAnchorsFile } from './trust-anchors-file.js';

export interface SvidSourceOptions {
  readonly sentryAddress: string;
  /** A file to watch (the control plane's mounted ConfigMap), or fixed PEM. */
  readonly trustAnchors: { readonly file: string } | { readonly pem: string };
  readonly controlPlaneTrustDomain: string;
  readonly controlPlaneNamespace: string;
  /** The id to ask for, e.g. `dapr-operator`. */
  readonly appId: string;
  readonly namespace: string;
  /** A projected service-account token file (Kubernetes); none means standalone. */
  readonly tokenFile?: string;
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Wait after a failed request before the next (upstream daprd: 10 s). */
  readonly retryMs?: number;
  /** Material to fill, when the caller already serves with one. */
  readonly material?: TlsMaterial;
}

export interface SvidSource {
  /** Identity and anchors for servers and clients; updated on every renewal. */
  readonly material: TlsMaterial;
  readonly spiffeId: string;
  ready(): boolean;
  /** Resolves true once the first SVID is in, false if the signal aborts first. */
  waitUntilReady(signal?: AbortSignal): Promise<boolean>;
  readonly runner: Runner;
}

const CONTROL_PLANE_IDS = new Set(['dapr-operator', 'dapr-placement', 'dapr-injector', 'dapr-sentry', 'dapr-scheduler']);

/**
 * A control-plane process's own SVID, from Sentry as upstream gets it: a fresh
 * key and CSR per request, the service-account token as proof, renewal at half
 * the certificate's life, retries every 10 s on failure.
 */
export function createSvidSource(options: SvidSourceOptions): SvidSource {
  const now = options.now ?? (() => new Date());
  const material = options.material ?? new TlsMaterial();
  if ('pem' in options.trustAnchors) material.setTrustAnchors(options.trustAnchors.pem);
  const controlPlane = CONTROL_PLANE_IDS.has(options.appId) && options.namespace === options.controlPlaneNamespace;
  const trustDomain = controlPlane ? options.controlPlaneTrustDomain : 'public';
  const spiffeId = formatSpiffeId({ trustDomain, namespace: options.namespace, id: options.appId });
  const sentryId = formatSpiffeId({ trustDomain: options.controlPlaneTrustDomain, namespace: options.controlPlaneNamespace, id: 'dapr-sentry' });
  let renewAt = 0;
  const haveIdentity = new Latch();

  const fetchOnce = async (): Promise<void> => {
    const anchors = material.trustAnchorsPem ?? '';
    const { privateKey } = generateKeyPair(options.keyAlgorithm ?? 'ecdsa-p256');
    const token = options.tokenFile ? (await readFile(options.tokenFile, 'utf8')).trim() : '';
    const request: Partial<SignCertificateRequest> = {
      id: options.appId,
      namespace: options.namespace,
      token,
      // Only control-plane identities name their trust domain, as daprd does.
      trust_domain: controlPlane ? options.controlPlaneTrustDomain : '',
      token_validator: options.tokenFile ? 'KUBERNETES' : 'UNKNOWN',
      certificate_signing_request: Buffer.from(createCsr(privateKey)),
    };
    const client = sentryClient(options.sentryAddress, anchors, sentryId);
    try {
      const response = await client.sign(request);
      const chainPem = response.workload_certificate.toString('utf8');
      const leaf = new X509Certificate(chainPem);
      material.setIdentity({ certificateChainPem: chainPem, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
      const notBefore = new Date(leaf.validFrom).getTime();
      const notAfter = new Date(leaf.validTo).getTime();
      renewAt = notBefore + (notAfter - notBefore) / 2;
      haveIdentity.open();
      options.logger.info({ spiffeId, expiry: new Date(notAfter).toISOString() }, 'SVID issued by sentry');
    } finally {
      client.close();
    }
  };

  const renewLoop: Runner = async (signal) => {
    while (!signal.aborted) {
      if (!material.trustAnchorsPem) {
        // The anchors file is still being read or has not appeared yet.
        await sleep(200, signal);
        continue;
      }
      if (now().getTime() >= renewAt) {
        try {
          await fetchOnce();
        } catch (err) {
          options.logger.warn({ sentry: options.sentryAddress, spiffeId, reason: errorMessage(err) }, 'requesting an SVID from sentry failed; retrying');
          await sleep(options.retryMs ?? 10_000, signal);
          continue;
        }
      }
      await sleep(Math.max(1000, Math.min(renewAt - now().getTime(), 60_000)), signal);
    }
  };

  const runner: Runner = async (signal) => {
    const parts: Array<Promise<void>> = [renewLoop(signal)];
    if ('file' in options.trustAnchors) {
      parts.push(watchTrustAnchorsFile(options.trustAnchors.file, (pem) => material.setTrustAnchors(pem), options.logger)(signal));
    }
    await Promise.all(parts);
  };

  return { material, spiffeId, ready: () => haveIdentity.isOpen, waitUntilReady: (signal) => haveIdentity.wait(signal), runner };
}
