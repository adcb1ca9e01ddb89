import { watch as watchDirectory } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaBundlePem } from '@tsdapr/pki';
import type { Logger, Runner } from '@tsdapr/runtime';
import type { StoredBundle } from './bundle-state.js';
import type { TrustBundleStore } from './trust-bundle-store.js';

/** Standalone mode: three files in a directory, written 0600. */
export function fileBundleStore(dir: string, keys: { trustAnchors: string; issuerCert: string; issuerKey: string }, logger: Logger): TrustBundleStore {
  const path = (name: string): string => join(dir, name);
  const readOptional = async (name: string): Promise<string | undefined> => {
    try {
      return await readFile(path(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  return {
    names: { secret: `directory ${dir}`, keys: [keys.trustAnchors, keys.issuerCert, keys.issuerKey] },
    async read(): Promise<StoredBundle> {
      const [trustAnchorsPem, issuerChainPem, issuerKeyPem] = await Promise.all([
        readOptional(keys.trustAnchors),
        readOptional(keys.issuerCert),
        readOptional(keys.issuerKey),
      ]);
      return { trustAnchorsPem, issuerChainPem, issuerKeyPem };
    },
    async writeGenerated(bundle: CaBundlePem): Promise<boolean> {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // A lock file created exclusively serialises bootstrapping processes; the
      // one that finds a key already written adopts that bundle instead.
      const lockPath = path(`${keys.issuerKey}.lock`);
      let lock;
      try {
        lock = await open(lockPath, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
      try {
        if ((await readOptional(keys.issuerKey)) !== undefined) return false;
        const entries: Array<[string, string]> = [
          [keys.issuerKey, bundle.issuerKeyPem],
          [keys.issuerCert, bundle.issuerChainPem],
          [keys.trustAnchors, bundle.trustAnchorsPem],
        ];
        for (const [name, content] of entries) {
          await writeFile(path(`${name}.tmp`), content, { mode: 0o600 });
          await rename(path(`${name}.tmp`), path(name));
        }
      } finally {
        await lock.close();
        await rm(lockPath, { force: true });
      }
      return true;
    },
    async publishAnchors(): Promise<void> {
      // The anchors file is the published copy.
    },
    watch(onChange: () => void): Runner {
      return async (signal) => {
        let timer: NodeJS.Timeout | undefined;
        // Editors and `kubectl cp` write in several steps; settle before reloading.
        const watcher = watchDirectory(dir, { signal }, () => {
          clearTimeout(timer);
          timer = setTimeout(onChange, 300);
        });
        watcher.on('error', (err) => {
          if ((err).name !== 'AbortError') logger.error({ err, dir }, 'watching the credentials directory failed');
        });
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        clearTimeout(timer);
        watcher.close();
      };
    },
  };
}
