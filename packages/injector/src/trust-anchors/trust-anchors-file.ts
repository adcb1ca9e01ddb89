import { readFile } from 'node:fs/promises';
import { sleep, type Logger, type Runner } from '@tsdapr/runtime';

export interface TrustAnchorsSource {
  /** The current PEM, undefined until first loaded. */
  current(): string | undefined;
  /** Resolves true once loaded, false if the signal aborts first. */
  waitUntilLoaded(signal: AbortSignal): Promise<boolean>;
  /** Called with every new PEM; returns an unsubscribe function. */
  onChange(listener: (pem: string) => void): () => void;
  readonly runner: Runner;
}

export interface TrustAnchorsFileOptions {
  readonly path: string;
  readonly logger: Logger;
  /** How often the file is read. ConfigMap volumes update by swapping a symlink, which a poll sees reliably. */
  readonly pollMs?: number;
  readonly read?: (path: string) => Promise<string>;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * The trust anchors from the mounted `dapr-trust-bundle` ConfigMap
 * (`/var/run/secrets/dapr.io/tls/ca.crt`, spec 2.6): waits until the file
 * exists, then re-reads it and tells listeners when it changes. A file
 * without a PEM certificate is logged and the previous anchors are kept.
 */
export function trustAnchorsFile(options: TrustAnchorsFileOptions): TrustAnchorsSource {
  const read = options.read ?? ((path: string) => readFile(path, 'utf8'));
  const listeners = new Set<(pem: string) => void>();
  const waiters = new Set<() => void>();
  let pem: string | undefined;
  let lastProblem = '';

  const load = async (): Promise<void> => {
    let text: string;
    try {
      text = await read(options.path);
    } catch (err) {
      const problem = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message;
      if (problem !== lastProblem) {
        if (problem === 'missing') options.logger.info({ path: options.path }, 'waiting for the trust anchors file');
        else options.logger.error({ err, path: options.path }, 'cannot read the trust anchors file');
        lastProblem = problem;
      }
      return;
    }
    if (!PEM_CERTIFICATE.test(text)) {
      if (lastProblem !== 'invalid') options.logger.error({ path: options.path }, 'the trust anchors file holds no PEM certificate; keeping the previous anchors');
      lastProblem = 'invalid';
      return;
    }
    lastProblem = '';
    if (text === pem) return;
    const first = pem === undefined;
    pem = text;
    options.logger.info({ path: options.path, first }, first ? 'trust anchors loaded' : 'trust anchors changed');
    for (const wake of waiters) wake();
    waiters.clear();
    for (const listener of listeners) {
      try {
        listener(text);
      } catch (err) {
        options.logger.error({ err }, 'trust anchors listener failed');
      }
    }
  };

  return {
    current: () => pem,
    waitUntilLoaded(signal) {
      if (pem !== undefined) return Promise.resolve(true);
      if (signal.aborted) return Promise.resolve(false);
      return new Promise((resolve) => {
        const onLoad = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve(true);
        };
        const onAbort = (): void => {
          waiters.delete(onLoad);
          resolve(false);
        };
        waiters.add(onLoad);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async runner(signal) {
      while (!signal.aborted) {
        await load();
        await sleep(options.pollMs ?? 1_000, signal);
      }
    },
  };
}
