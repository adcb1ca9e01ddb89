import type { CaBundlePem } from '@tsdapr/pki';
import type { Runner } from '@tsdapr/runtime';
import type { JwtBundlePem } from '../jwt/jwt-issuer.js';
import type { StoredBundle } from './bundle-state.js';

/** Where the trust bundle lives: a Secret and ConfigMap, or a directory. */
export interface TrustBundleStore {
  /** Human names for messages, e.g. `Secret dapr-system/dapr-trust-bundle`. */
  readonly names: { readonly secret: string; readonly published?: string; readonly keys: readonly [string, string, string]; readonly jwtKeys?: readonly [string, string] };
  read(): Promise<StoredBundle>;
  /**
   * Writes a freshly generated bundle unless another writer got there first:
   * resolves false when the store changed since `read`, so the caller re-reads
   * and adopts the winner's bundle (two replicas converge on one).
   */
  writeGenerated(bundle: CaBundlePem): Promise<boolean>;
  /** Writes a generated JWT key and JWKS unless either exists by now (resolves false: re-read and adopt). */
  writeGeneratedJwt(bundle: JwtBundlePem): Promise<boolean>;
  /** Publishes the JWKS for consumers (ConfigMap); a no-op where there is no copy. */
  publishJwks(jwksJson: string): Promise<void>;
  /** Publishes the anchors for consumers (the ConfigMap); a no-op where there is no copy. */
  publishAnchors(anchorsPem: string): Promise<void>;
  /** Calls onChange whenever the stored bundle may have changed. */
  watch(onChange: () => void): Runner;
}
