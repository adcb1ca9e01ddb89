import { CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { isConflict, isNotFound, kubeWatchOpener } from '@tsdapr/kube';
import type { CaBundlePem } from '@tsdapr/pki';
import { sleep, type Logger, type Runner } from '@tsdapr/runtime';
import type { JwtBundlePem } from '../jwt/jwt-issuer.js';
import type { StoredBundle } from './bundle-state.js';
import type { TrustBundleStore } from './trust-bundle-store.js';

export interface KubernetesBundleStoreOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  readonly keys: { readonly trustAnchors: string; readonly issuerCert: string; readonly issuerKey: string };
  readonly logger: Logger;
  /** With JWT issuing: the Secret keys of the signing key and JWKS (upstream uses the file names' base names). */
  readonly jwtKeys?: { readonly signingKey: string; readonly jwks: string };
  /** Re-read even without a watch event, in case an event was missed. */
  readonly resyncMs?: number;
}

const decode = (value: string | undefined): string | undefined => (value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8'));
const encode = (value: string): string => Buffer.from(value, 'utf8').toString('base64');

/**
 * Kubernetes mode: Secret `dapr-trust-bundle` holds the anchors, issuer chain
 * and key; ConfigMap `dapr-trust-bundle` publishes the anchors. Both are
 * created when absent, so sentry also works without the Helm chart.
 */
export function kubernetesBundleStore(options: KubernetesBundleStoreOptions): TrustBundleStore {
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const { namespace, name, keys, logger, jwtKeys } = options;
  let lastSecret: V1Secret | undefined;

  const readSecret = async (): Promise<V1Secret | undefined> => {
    try {
      return await core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const readConfigMap = async (): Promise<V1ConfigMap | undefined> => {
    try {
      return await core.readNamespacedConfigMap({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  /** Sets one key of the published ConfigMap (the anchors, the JWKS), keeping the others; retried on a 409. */
  const publishInConfigMap = async (key: string, value: string): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const current = await readConfigMap();
      try {
        if (current) {
          await core.replaceNamespacedConfigMap({ namespace, name, body: { ...current, data: { ...(current.data ?? {}), [key]: value } } });
        } else {
          await core.createNamespacedConfigMap({ namespace, body: { metadata: { name, namespace }, data: { [key]: value } } });
        }
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  };

  return {
    names: {
      secret: `Secret ${namespace}/${name}`,
      published: `ConfigMap ${namespace}/${name}`,
      keys: [keys.trustAnchors, keys.issuerCert, keys.issuerKey],
      ...(jwtKeys ? { jwtKeys: [jwtKeys.signingKey, jwtKeys.jwks] as const } : {}),
    },

    async read(): Promise<StoredBundle> {
      const [secret, configMap] = await Promise.all([readSecret(), readConfigMap()]);
      lastSecret = secret;
      return {
        trustAnchorsPem: decode(secret?.data?.[keys.trustAnchors]),
        issuerChainPem: decode(secret?.data?.[keys.issuerCert]),
        issuerKeyPem: decode(secret?.data?.[keys.issuerKey]),
        publishedAnchorsPem: configMap?.data?.[keys.trustAnchors] ?? '',
        ...(jwtKeys
          ? {
              jwtKeyPem: decode(secret?.data?.[jwtKeys.signingKey]),
              jwksJson: decode(secret?.data?.[jwtKeys.jwks]),
              publishedJwksJson: configMap?.data?.[jwtKeys.jwks] ?? '',
            }
          : {}),
      };
    },
    async writeGeneratedJwt(bundle: JwtBundlePem): Promise<boolean> {
      if (!jwtKeys) throw new Error('JWT issuing is not enabled');
      // Only into the Secret read last (X.509 entries are loaded by then), with its resourceVersion.
      if (!lastSecret) return false;
      if (lastSecret.data?.[jwtKeys.signingKey] !== undefined || lastSecret.data?.[jwtKeys.jwks] !== undefined) return false;
      const data = { ...(lastSecret.data ?? {}), [jwtKeys.signingKey]: encode(bundle.signingKeyPem), [jwtKeys.jwks]: encode(bundle.jwksJson) };
      try {
        await core.replaceNamespacedSecret({ namespace, name, body: { ...lastSecret, data } });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    },
    async publishJwks(jwksJson: string): Promise<void> {
      if (!jwtKeys) return;
      // Upstream also distributes the JWKS in the ConfigMap (pkg/sentry/server/ca/kube.go).
      await publishInConfigMap(jwtKeys.jwks, jwksJson);
    },

    async writeGenerated(bundle: CaBundlePem): Promise<boolean> {
      const data = {
        ...(lastSecret?.data ?? {}),
        [keys.trustAnchors]: encode(bundle.trustAnchorsPem),
        [keys.issuerCert]: encode(bundle.issuerChainPem),
        [keys.issuerKey]: encode(bundle.issuerKeyPem),
      };
      try {
        if (lastSecret) {
          // resourceVersion from our read: a concurrent writer makes this a 409.
          await core.replaceNamespacedSecret({ namespace, name, body: { ...lastSecret, data } });
        } else {
          await core.createNamespacedSecret({ namespace, body: { metadata: { name, namespace }, type: 'Opaque', data } });
        }
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    },

    async publishAnchors(anchorsPem: string): Promise<void> {
      await publishInConfigMap(keys.trustAnchors, anchorsPem);
    },

    watch(onChange: () => void): Runner {
      return async (signal) => {
        const watchOne = (resource: 'secrets' | 'configmaps'): Promise<void> =>
          watchNamed(options.kubeConfig, `/api/v1/namespaces/${namespace}/${resource}`, name, onChange, signal, logger);
        const resync = async (): Promise<void> => {
          while (!signal.aborted) {
            await sleep(options.resyncMs ?? 60_000, signal);
            if (!signal.aborted) onChange();
          }
        };
        await Promise.all([watchOne('secrets'), watchOne('configmaps'), resync()]);
      };
    },
  };
}

/**
 * Watches one named object, reconnecting with backoff until aborted. The
 * request is our own (`kubeWatchOpener`), so an abort cancels it even while
 * it waits for response headers; a watch that stalls silently is covered by
 * the caller's periodic resync.
 */
async function watchNamed(kubeConfig: KubeConfig, path: string, name: string, onEvent: () => void, signal: AbortSignal, logger: Logger): Promise<void> {
  const openWatch = kubeWatchOpener(kubeConfig);
  let backoffMs = 500;
  while (!signal.aborted) {
    let err: unknown;
    try {
      await openWatch(path, { fieldSelector: `metadata.name=${name}` }, signal, () => {
        backoffMs = 500;
        onEvent();
      });
    } catch (failure) {
      err = failure;
    }
    if (signal.aborted) return;
    if (err) logger.warn({ err, path }, 'trust bundle watch ended; reconnecting');
    await sleep(backoffMs, signal);
    backoffMs = Math.min(backoffMs * 2, 30_000);
    // Anything may have changed while the watch was down.
    onEvent();
  }
}
