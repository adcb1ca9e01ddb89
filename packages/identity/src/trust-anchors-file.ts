import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Latch, sleep, type Logger, type Runner } from '@tsdapr/runtime';

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
  /**
   * How often the file is re-read once loaded (default 30 s; every second until then).
   * The directory is watched too, but a watch can miss events on some file
   * systems, and a poll sees a ConfigMap's swapped symlink reliably.
   */
  readonly pollMs?: number;
  /** Watch the file's directory for changes (default true); Kubernetes swaps a ConfigMap volume's files by renaming a directory. */
  readonly watchDirectory?: boolean;
  readonly read?: (path: string) => Promise<string>;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * The trust anchors of a control-plane process, from the mounted
 * `dapr-trust-bundle` ConfigMap (`/var/run/secrets/dapr.io/tls/ca.crt`,
 * dapr/dapr:pkg/security/security.go@v1.17.5): waits until the file exists, then re-reads it on every change
 * of its directory and on a slow poll, and tells listeners when it changes.
 * A file without a PEM certificate is logged and the previous anchors are kept.
 */
export function trustAnchorsFile(options: TrustAnchorsFileOptions): TrustAnchorsSource {
  const read = options.read ?? ((path: string) => readFile(path, 'utf8'));
  const listeners = new Set<(pem: string) => void>();
  const loaded = new Latch();
  let pem: string | undefined;
  let lastProblem = '';

  const loadOnce = async (): Promise<void> => {
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
    loaded.open();
    for (const listener of listeners) {
      try {
        listener(text);
      } catch (err) {
        options.logger.error({ err }, 'trust anchors listener failed');
      }
    }
  };

  // One read at a time, and one more after it if asked meanwhile: a slow
  // read of the old file finishing after a fast read of the new one would
  // otherwise bring the old anchors back.
  let reading: Promise<void> | undefined;
  let readAgain = false;
  const load = (): Promise<void> => {
    if (reading) {
      readAgain = true;
      return reading;
    }
    reading = (async () => {
      try {
        do {
          readAgain = false;
          await loadOnce();
        } while (readAgain);
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };

  return {
    current: () => pem,
    waitUntilLoaded: (signal) => loaded.wait(signal),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async runner(signal) {
      // Watch first, then read: a change between the two is not missed.
      let watcher: ReturnType<typeof watch> | undefined;
      if (options.watchDirectory ?? true) {
        try {
          watcher = watch(dirname(options.path), { signal }, () => void load());
          watcher.on('error', () => undefined);
        } catch (err) {
          options.logger.warn({ err, path: options.path }, 'cannot watch the trust anchors directory; polling only');
        }
      }
      await load();
      while (!signal.aborted) {
        await sleep(pem === undefined ? Math.min(1_000, options.pollMs ?? 1_000) : (options.pollMs ?? 30_000), signal);
        if (!signal.aborted) await load();
      }
      watcher?.close();
    },
  };
}

/** Calls `onAnchors` with the file's anchors now and on every change, until the runner's signal aborts. */
export function watchTrustAnchorsFile(path: string, onAnchors: (pem: string) => void, logger: Logger, pollMs = 30_000): Runner {
  const source = trustAnchorsFile({ path, logger, pollMs });
  source.onChange(onAnchors);
  return source.runner;
}
