import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { TlsMaterial, uriSans } from '@tsdapr/grpc';
import { createSvidSource, type SvidSourceOptions } from '@tsdapr/identity';
import { sleep, type Logger, type Runner } from '@tsdapr/runtime';
import { PlacementError } from '../errors.js';

/**
 * Where placement's own serving certificate comes from when mTLS is on. The
 * gRPC server only sees `material`, which can change under it (the server
 * applies a new certificate or anchor set to new connections).
 *
 * Today: files (`fileServingIdentity`). The seam for later: a source that
 * asks our Sentry for an SVID as `dapr-placement` with the pod's projected
 * token, as upstream placement does, and renews it before expiry; it only
 * has to implement this interface.
 */
export interface ServingIdentity {
  readonly material: TlsMaterial;
  /** Loads the first certificate, key and trust anchors; throws when they cannot be used. */
  load(): Promise<void>;
  /** Keeps the material current until the signal aborts. */
  readonly runner: Runner;
}

export interface FileServingIdentityOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustAnchorsFile: string;
  /** The SPIFFE ID placement should present; a certificate with another is used, with a warning. */
  readonly expectedSpiffeId: string;
  /** How often the files are checked for a new version. */
  readonly pollMs?: number;
  readonly logger: Logger;
}

/** Certificate chain, key and anchors from PEM files, reloaded when a file changes. */
export function fileServingIdentity(options: FileServingIdentityOptions): ServingIdentity {
  const material = new TlsMaterial();
  const files = [options.certFile, options.keyFile, options.trustAnchorsFile];
  let stamp = '';

  const currentStamp = async (): Promise<string> => {
    const stats = await Promise.all(files.map((file) => stat(file)));
    return stats.map((s) => `${s.mtimeMs}:${s.size}`).join('|');
  };
  const read = async (): Promise<void> => {
    let chain: string, key: string, anchors: string;
    try {
      [chain, key, anchors] = await Promise.all(files.map((file) => readFile(file, 'utf8'))) as [string, string, string];
    } catch (err) {
      throw new PlacementError('serving_identity', `cannot read placement's TLS files (${files.join(', ')}): ${(err as Error).message}`, { cause: err });
    }
    let spiffeIds: string[];
    try {
      spiffeIds = uriSans(new X509Certificate(chain).subjectAltName);
    } catch (err) {
      throw new PlacementError('serving_identity', `${options.certFile} holds no usable certificate: ${(err as Error).message}`, { cause: err });
    }
    if (spiffeIds.length !== 1 || spiffeIds[0] !== options.expectedSpiffeId) {
      options.logger.warn({ certFile: options.certFile, found: spiffeIds, expected: options.expectedSpiffeId }, 'serving certificate does not carry the placement SPIFFE ID daprd pins');
    }
    material.setTrustAnchors(anchors);
    material.setIdentity({ certificateChainPem: chain, privateKeyPem: key });
  };

  return {
    material,
    async load() {
      stamp = await currentStamp().catch(() => '');
      await read();
      options.logger.info({ certFile: options.certFile, trustAnchorsFile: options.trustAnchorsFile }, 'serving identity loaded');
    },
    async runner(signal) {
      while (!signal.aborted) {
        await sleep(options.pollMs ?? 10_000, signal);
        if (signal.aborted) return;
        try {
          const next = await currentStamp();
          if (next === stamp) continue;
          await read();
          stamp = next;
          options.logger.info({ certFile: options.certFile }, 'serving identity reloaded');
        } catch (err) {
          options.logger.error({ err }, 'serving identity files changed but cannot be loaded; keeping the previous one');
        }
      }
    },
  };
}

/**
 * Placement's SVID from Sentry, as upstream gets it: `dapr-placement` in the
 * control-plane namespace, proved by the pod's projected token, renewed at
 * half-life; anchors from the watched ConfigMap file.
 */
export function sentryServingIdentity(options: Omit<SvidSourceOptions, 'appId'> & { readonly readyTimeoutMs?: number }): ServingIdentity {
  const source = createSvidSource({ ...options, appId: 'dapr-placement' });
  let started: AbortController | undefined;
  let running: Promise<void> | undefined;
  return {
    material: source.material,
    async load() {
      // The source starts fetching at once so the server can present the SVID
      // when it binds; the runner below then owns it until shutdown.
      started = new AbortController();
      running = source.runner(started.signal);
      const timeoutMs = options.readyTimeoutMs ?? 60_000;
      if (!(await source.waitUntilReady(AbortSignal.timeout(timeoutMs)))) {
        started.abort();
        await running;
        throw new PlacementError('serving_identity', `no SVID from Sentry at ${options.sentryAddress} within ${timeoutMs / 1000}s; see the warnings above`);
      }
    },
    runner: async (signal) => {
      signal.addEventListener('abort', () => started?.abort(), { once: true });
      if (signal.aborted) started?.abort();
      await running;
    },
  };
}
