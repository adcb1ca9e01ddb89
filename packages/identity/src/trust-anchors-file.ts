import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sleep, type Logger, type Runner } from '@tsdapr/runtime';

/**
 * The trust anchors of a control-plane process: the ConfigMap file mounted at
 * /var/run/secrets/dapr.io/tls/ca.crt, waited for and re-read on change.
 * Kubernetes swaps ConfigMap files by renaming a directory, so the watch is
 * on the directory, with a slow poll as a safety net.
 */
export function watchTrustAnchorsFile(path: string, onAnchors: (pem: string) => void, logger: Logger, pollMs = 30_000): Runner {
  return async (signal) => {
    let last = '';
    const read = async (): Promise<void> => {
      try {
        const pem = await readFile(path, 'utf8');
        if (pem.includes('BEGIN CERTIFICATE') && pem !== last) {
          last = pem;
          onAnchors(pem);
          logger.info({ path }, 'trust anchors loaded');
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.error({ err, path }, 'reading the trust anchors failed');
        else if (!last) logger.info({ path }, 'waiting for the trust anchors file');
      }
    };
    await read();
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(dirname(path), { signal }, () => void read());
      watcher.on('error', () => undefined);
    } catch (err) {
      logger.warn({ err, path }, 'cannot watch the trust anchors directory; polling only');
    }
    while (!signal.aborted) {
      await sleep(last ? pollMs : 1000, signal);
      if (!signal.aborted) await read();
    }
    watcher?.close();
  };
}
