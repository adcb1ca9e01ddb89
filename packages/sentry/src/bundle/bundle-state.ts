import { TsdaprError } from '@tsdapr/runtime';

/** The three bundle entries as stored; any may be missing. */
export interface StoredBundle {
  readonly trustAnchorsPem?: string | undefined;
  readonly issuerChainPem?: string | undefined;
  readonly issuerKeyPem?: string | undefined;
  /** The anchors published for consumers (ConfigMap `ca.crt`); undefined where the store has no such copy. */
  readonly publishedAnchorsPem?: string | undefined;
  /** The JWT signing key and JWKS; read only when JWT issuing is enabled. */
  readonly jwtKeyPem?: string | undefined;
  readonly jwksJson?: string | undefined;
  /** The JWKS published for consumers (ConfigMap), undefined where the store has no such copy. */
  readonly publishedJwksJson?: string | undefined;
}

export type JwtBundleAction = { readonly kind: 'generate' } | { readonly kind: 'load'; readonly signingKeyPem: string; readonly jwksJson: string };

/**
 * What to do with the stored JWT entries. Only when both are absent is a key
 * generated. Upstream regenerates (and overwrites the key) when only one of
 * them is there; here that is an error, because a new key silently breaks
 * every verifier that cached the old JWKS.
 */
export function decideJwtAction(stored: StoredBundle, describe: { secret: string; jwtKeys: readonly [string, string] }): JwtBundleAction {
  const key = present(stored.jwtKeyPem) ? stored.jwtKeyPem : undefined;
  const jwks = present(stored.jwksJson) ? stored.jwksJson : undefined;
  if (key === undefined && jwks === undefined) return { kind: 'generate' };
  if (key === undefined || jwks === undefined) {
    const [keyName, jwksName] = describe.jwtKeys;
    throw new TrustBundleError(
      'jwt_bundle_incomplete',
      `${describe.secret} has ${key === undefined ? jwksName : keyName} but lacks ${key === undefined ? keyName : jwksName}; refusing to generate a new JWT signing key. Supply the missing entry, or remove both to let sentry generate a new key.`,
    );
  }
  return { kind: 'load', signingKeyPem: key, jwksJson: jwks };
}

export class TrustBundleError extends TsdaprError {}

export type BundleAction =
  | { readonly kind: 'generate' }
  | { readonly kind: 'load' }
  | { readonly kind: 'publish'; readonly anchorsPem: string };

const ENTRIES = [
  ['trustAnchorsPem', 'trust anchors'],
  ['issuerChainPem', 'issuer certificate'],
  ['issuerKeyPem', 'issuer key'],
] as const;

const present = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

/** PEM blocks compared without whitespace or order differences. */
export function sameAnchors(a: string, b: string): boolean {
  const blocks = (pem: string): string[] =>
    (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((block) => block.replace(/\s+/g, '')).sort();
  const left = blocks(a);
  const right = blocks(b);
  return left.length === right.length && left.every((block, i) => block === right[i]);
}

/** Two JWKS documents equal as JSON (whitespace and key order of members ignored). */
export function sameJwks(a: string, b: string): boolean {
  const canonical = (text: string): string | undefined => {
    try {
      const sort = (value: unknown): unknown =>
        Array.isArray(value) ? value.map(sort) : typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => [k, sort(v)])) : value;
      return JSON.stringify(sort(JSON.parse(text)));
    } catch {
      return undefined;
    }
  };
  const left = canonical(a);
  return left !== undefined && left === canonical(b);
}

/**
 * What to do with a stored bundle. Only a wholly empty bundle is generated.
 * Upstream re-roots the cluster when a key is missing or the ConfigMap
 * differs from the Secret (dapr/dapr#9563); here both are errors that say
 * what to fix, because a silent new root breaks every running sidecar.
 */
export function decideBundleAction(stored: StoredBundle, describe: { secret: string; published?: string; keys: readonly [string, string, string] }): BundleAction {
  const missing = ENTRIES.filter(([field]) => !present(stored[field]));
  const publishedEmpty = !present(stored.publishedAnchorsPem);
  if (missing.length === ENTRIES.length) {
    if (publishedEmpty) return { kind: 'generate' };
    throw new TrustBundleError(
      'bundle_published_without_secret',
      `${describe.secret} is empty but ${describe.published ?? 'the published anchors'} still holds trust anchors; refusing to generate a new root that running sidecars would not trust. Restore the Secret's keys, or empty both objects to start a new trust root.`,
    );
  }
  if (missing.length > 0) {
    const names = missing.map(([field]) => describe.keys[ENTRIES.findIndex(([f]) => f === field)]).join(', ');
    throw new TrustBundleError(
      'bundle_incomplete',
      `${describe.secret} lacks ${names}; refusing to re-root the cluster. Supply the missing keys, or remove all three to let sentry generate a new bundle.`,
    );
  }
  if (stored.publishedAnchorsPem === undefined && describe.published === undefined) return { kind: 'load' };
  if (publishedEmpty) return { kind: 'publish', anchorsPem: stored.trustAnchorsPem ?? '' };
  if (!sameAnchors(stored.publishedAnchorsPem ?? '', stored.trustAnchorsPem ?? '')) {
    throw new TrustBundleError(
      'bundle_mismatch',
      `${describe.published ?? 'the published anchors'} ${describe.keys[0]} differs from ${describe.secret} ${describe.keys[0]}; sidecars and the CA would disagree on the trust root. Copy the Secret's ${describe.keys[0]} into the ConfigMap (or the reverse) so both hold the same anchors. Sentry keeps its last good bundle and does not re-root.`,
    );
  }
  return { kind: 'load' };
}
