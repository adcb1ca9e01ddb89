import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import type { TlsMaterial } from '@tsdapr/grpc';
import { createSvidSource } from '@tsdapr/identity';
import { sleep, type Logger, type Runner } from '@tsdapr/runtime';

/**
 * Fills the operator's TlsMaterial (its SVID and the trust anchors) and keeps
 * it current. THE SEAM for the operator's identity: today the files given by
 * --tls-cert-file/--tls-key-file/--trust-anchors-file; a provider that asks
 * Sentry for the `dapr-operator` SVID (the shared @tsdapr/identity library)
 * plugs in here with the same shape.
 */
export interface IdentityProvider {
  /** Resolves true once the material holds an identity and anchors, false if the signal aborts first. */
  waitUntilReady(signal: AbortSignal): Promise<boolean>;
  readonly runner: Runner;
}

export interface FileIdentityOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustAnchorsFile: string;
  readonly tls: TlsMaterial;
  readonly expectedSpiffeId: string;
  readonly logger: Logger;
  readonly pollMs?: number;
}

export function fileIdentityProvider(options: FileIdentityOptions): IdentityProvider {
  let last = { cert: '', key: '', anchors: '' };
  let lastProblem = '';

  const load = async (): Promise<void> => {
    let cert: string, key: string, anchors: string;
    try {
      [cert, key, anchors] = await Promise.all([readFile(options.certFile, 'utf8'), readFile(options.keyFile, 'utf8'), readFile(options.trustAnchorsFile, 'utf8')]);
    } catch (err) {
      const problem = (err as Error).message;
      if (problem !== lastProblem) options.logger.warn({ err }, 'waiting for the operator certificate, key and trust anchors files');
      lastProblem = problem;
      return;
    }
    if (cert === last.cert && key === last.key && anchors === last.anchors) return;
    try {
      const leaf = new X509Certificate(cert);
      if (!leaf.subjectAltName?.includes(`URI:${options.expectedSpiffeId}`)) {
        options.logger.warn({ expected: options.expectedSpiffeId, subjectAltName: leaf.subjectAltName }, 'the operator certificate does not carry the expected SPIFFE ID; daprd will refuse it');
      }
    } catch (err) {
      if (lastProblem !== 'invalid') options.logger.error({ err, path: options.certFile }, 'the operator certificate file holds no valid certificate; keeping the previous one');
      lastProblem = 'invalid';
      return;
    }
    lastProblem = '';
    const first = last.cert === '';
    last = { cert, key, anchors };
    options.tls.setTrustAnchors(anchors);
    options.tls.setIdentity({ certificateChainPem: cert, privateKeyPem: key });
    options.logger.info({ certFile: options.certFile, first }, first ? 'operator identity loaded' : 'operator identity changed');
  };

  return {
    async waitUntilReady(signal) {
      await load();
      while (!last.cert && !signal.aborted) {
        await sleep(options.pollMs ?? 1000, signal);
        await load();
      }
      return !signal.aborted;
    },
    runner: async (signal) => {
      while (!signal.aborted) {
        await load();
        await sleep(options.pollMs ?? 2000, signal);
      }
    },
  };
}

/** The `dapr-operator` SVID from Sentry, renewed at half-life, as upstream gets it. */
export function sentryIdentityProvider(options: { tls: TlsMaterial; sentryAddress: string; tokenFile: string; trustAnchorsFile: string; trustDomain: string; namespace: string; logger: Logger }): IdentityProvider {
  const source = createSvidSource({
    material: options.tls,
    sentryAddress: options.sentryAddress,
    trustAnchors: { file: options.trustAnchorsFile },
    controlPlaneTrustDomain: options.trustDomain,
    controlPlaneNamespace: options.namespace,
    appId: 'dapr-operator',
    namespace: options.namespace,
    ...(options.tokenFile ? { tokenFile: options.tokenFile } : {}),
    logger: options.logger,
  });
  return {
    async waitUntilReady(signal) {
      while (!source.ready()) {
        if (signal.aborted) return false;
        await sleep(100, signal);
      }
      return true;
    },
    runner: source.runner,
  };
}
