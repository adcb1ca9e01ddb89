import { watch as watchDirectory } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import type { CaBundlePem } from '@tsdapr/pki';
import type { Logger, Runner } from '@tsdapr/runtime';
import type { JwtBundlePem } from '../jwt/jwt-issuer.js';
import type { StoredBundle } from './bundle-state.js';
import type { TrustBundleStore } from './trust-bundle-store.js';

/**
 * Standalone mode: three files in a directory, written 0600; with JWT issuing
 * also the signing key and JWKS (names relative to the directory, or absolute
 * paths, as upstream's --jwt-key-filename and --jwks-filename).
 */
export function fileBundleStore(
  dir: string,
  keys: { trustAnchors: string; issuerCert: string; issuerKey: string },
  logger: Logger,
  jwt?: { readonly keyFilename: string; readonly jwksFilename: string },
): TrustBundleStore {
  const path = (name: string): string => (isAbsolute(name) ? name : join(dir, name));
  const readOptional = async (name: string): Promise<string | undefined> => {
    try {
      return await readFile(path(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  /**
   * Writes the files (each via a temp file and a rename, 0600, in order) only
   * if `taken()` finds nothing there; a lock file created exclusively
   * serialises bootstrapping processes, and the one that loses adopts what the
   * winner wrote. False when it wrote nothing.
   */
  const writeOnce = async (lockName: string, taken: () => Promise<boolean>, entries: ReadonlyArray<readonly [string, string]>): Promise<boolean> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lockPath = path(`${lockName}.lock`);
    let lock;
    try {
      lock = await open(lockPath, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    try {
      if (await taken()) return false;
      for (const [name, content] of entries) {
        await writeFile(path(`${name}.tmp`), content, { mode: 0o600 });
        await rename(path(`${name}.tmp`), path(name));
      }
    } finally {
      await lock.close();
      await rm(lockPath, { force: true });
    }
    return true;
  };
  return {
    names: { secret: `directory ${dir}`, keys: [keys.trustAnchors, keys.issuerCert, keys.issuerKey], ...(jwt ? { jwtKeys: [jwt.keyFilename, jwt.jwksFilename] as const } : {}) },
    async read(): Promise<StoredBundle> {
      const [trustAnchorsPem, issuerChainPem, issuerKeyPem, jwtKeyPem, jwksJson] = await Promise.all([
        readOptional(keys.trustAnchors),
        readOptional(keys.issuerCert),
        readOptional(keys.issuerKey),
        jwt ? readOptional(jwt.keyFilename) : undefined,
        jwt ? readOptional(jwt.jwksFilename) : undefined,
      ]);
      return { trustAnchorsPem, issuerChainPem, issuerKeyPem, ...(jwt ? { jwtKeyPem, jwksJson } : {}) };
    },
    async writeGeneratedJwt(bundle: JwtBundlePem): Promise<boolean> {
      if (!jwt) throw new Error('JWT issuing is not enabled');
      return writeOnce(
        basename(jwt.keyFilename),
        // Never overwrite: a key or JWKS written meanwhile wins (or is reported as incomplete).
        async () => (await readOptional(jwt.keyFilename)) !== undefined || (await readOptional(jwt.jwksFilename)) !== undefined,
        // The JWKS first: a key is never in force without its public half published.
        [
          [jwt.jwksFilename, bundle.jwksJson],
          [jwt.keyFilename, bundle.signingKeyPem],
        ],
      );
    },
    async publishJwks(): Promise<void> {
      // The JWKS file is the published copy.
    },
    async writeGenerated(bundle: CaBundlePem): Promise<boolean> {
      // A process that finds a key already written adopts that bundle instead.
      return writeOnce(keys.issuerKey, async () => (await readOptional(keys.issuerKey)) !== undefined, [
        [keys.issuerKey, bundle.issuerKeyPem],
        [keys.issuerCert, bundle.issuerChainPem],
        [keys.trustAnchors, bundle.trustAnchorsPem],
      ]);
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
