import { CoreV1Api, VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, requestOptions } from '@tsdapr/kube';
import type { Logger } from '@tsdapr/runtime';

/** Native sidecars (init containers with restartPolicy Always) are on by default from Kubernetes 1.29. */
export const NATIVE_SIDECAR_MIN_MINOR = 29;

/** Parses `/version`'s major and minor (`"1"`, `"29+"`); true when the server runs native sidecars. */
export function versionSupportsNativeSidecars(major: string, minor: string): boolean {
  const maj = Number.parseInt(major, 10);
  const min = Number.parseInt(minor, 10);
  if (Number.isNaN(maj) || Number.isNaN(min)) return true;
  return maj > 1 || (maj === 1 && min >= NATIVE_SIDECAR_MIN_MINOR);
}

/** Asks the API server its version once at startup; an unknown version is assumed recent. */
export async function apiServerSupportsNativeSidecars(kubeConfig: KubeConfig, logger: Logger, signal?: AbortSignal): Promise<boolean> {
  try {
    const version = await kubeConfig.makeApiClient(VersionApi).getCode(requestOptions({ signal, timeoutMs: 10_000 }));
    const supported = versionSupportsNativeSidecars(version.major, version.minor);
    logger.info({ version: version.gitVersion, nativeSidecars: supported }, 'API server version');
    return supported;
  } catch (err) {
    logger.warn({ err: KubeApiError.from(err, 'get API server version') }, 'cannot read the API server version; assuming it runs native sidecars');
    return true;
  }
}

/**
 * The UIDs of the allow-listed service accounts named exactly (no globs), as
 * upstream resolves them at startup; a second way to recognise a requester.
 * Failing to list is logged, not fatal: names still match.
 */
export async function resolveServiceAccountUids(kubeConfig: KubeConfig, patterns: readonly string[], logger: Logger, signal?: AbortSignal): Promise<Set<string>> {
  const exact = patterns.map((p) => p.trim()).filter((p) => p !== '' && !/[*?[\\]/.test(p));
  const uids = new Set<string>();
  if (exact.length === 0) return uids;
  try {
    const list = await kubeConfig.makeApiClient(CoreV1Api).listServiceAccountForAllNamespaces({}, requestOptions({ signal, timeoutMs: 10_000 }));
    const byName = new Map(list.items.map((sa) => [`${sa.metadata?.namespace ?? ''}:${sa.metadata?.name ?? ''}`, sa.metadata?.uid]));
    for (const name of exact) {
      const uid = byName.get(name);
      if (uid) uids.add(uid);
    }
  } catch (err) {
    logger.warn({ err: KubeApiError.from(err, 'list service accounts') }, 'cannot resolve allowed service account UIDs; matching by name only');
  }
  return uids;
}
