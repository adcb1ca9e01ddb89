import { credentials, experimental, type ChannelCredentials, type ServerCredentials } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { spiffeIdFromSubjectAltName, formatSpiffeId } from './spiffe-id.js';

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface TlsIdentity {
  /** Leaf followed by its issuer chain, PEM. */
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
}

/**
 * The certificate and trust anchors a server presents, swappable at run time:
 * grpc-js rebuilds its secure context when either changes, so a rotated SVID
 * or a new anchor set applies to new connections without a restart.
 */
export class TlsMaterial implements CertificateProvider {
  private identity: TlsIdentity | undefined;
  private anchorsPem: string | undefined;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(initial: { identity?: TlsIdentity; trustAnchorsPem?: string } = {}) {
    this.identity = initial.identity;
    this.anchorsPem = initial.trustAnchorsPem;
  }

  get trustAnchorsPem(): string | undefined {
    return this.anchorsPem;
  }

  get currentIdentity(): TlsIdentity | undefined {
    return this.identity;
  }

  setIdentity(identity: TlsIdentity): void {
    this.identity = identity;
    for (const listener of this.identityListeners) listener(this.identityUpdate());
  }

  setTrustAnchors(pem: string): void {
    this.anchorsPem = pem;
    for (const listener of this.caListeners) listener(this.caUpdate());
  }

  // The current value reaches a new listener on a later tick, never inside
  // the add call: grpc-js registers its own watcher only after adding ours,
  // so a synchronous first update would be lost and the server would drop
  // every connection as "credentials not loaded".
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    queueMicrotask(() => {
      if (this.caListeners.has(listener) && this.anchorsPem !== undefined) listener(this.caUpdate());
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.identityListeners.has(listener) && this.identity) listener(this.identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private caUpdate(): experimental.CaCertificateUpdate {
    return { caCertificate: Buffer.from(this.anchorsPem ?? '') };
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate | null {
    if (!this.identity) return null;
    return { certificate: Buffer.from(this.identity.certificateChainPem), privateKey: Buffer.from(this.identity.privateKeyPem) };
  }
}

/**
 * Server credentials from rotating material. With `requireClientCert`, peers
 * must present a certificate chaining to the trust anchors (mTLS); without,
 * the server is authenticated only (Sentry's mode).
 */
export function serverCredentials(material: TlsMaterial, options: { requireClientCert: boolean }): ServerCredentials {
  // grpc-js names these parameters (ca, identity), but passes the first to its
  // constructor as the identity provider and the second as the CA provider.
  return experimental.createCertificateProviderServerCredentials(
    material,
    options.requireClientCert ? material : null,
    options.requireClientCert,
  );
}

export interface ClientTlsOptions {
  readonly trustAnchorsPem: string;
  /** The SPIFFE ID the server must present as its only URI SAN; hostnames are not checked, as in daprd. */
  readonly expectedServerId: string;
  readonly identity?: TlsIdentity;
}

/**
 * Channel options for SPIFFE-authenticated connections: the server name sent
 * in SNI is a fixed label, since peers are checked by SPIFFE ID, not by host
 * (and an IP address is not a valid SNI name).
 */
export const SPIFFE_CHANNEL_OPTIONS = { 'grpc.ssl_target_name_override': 'dapr.local' } as const;

export function clientCredentials(options: ClientTlsOptions): ChannelCredentials {
  return credentials.createSsl(
    Buffer.from(options.trustAnchorsPem),
    options.identity ? Buffer.from(options.identity.privateKeyPem) : null,
    options.identity ? Buffer.from(options.identity.certificateChainPem) : null,
    { checkServerIdentity: (_host, cert) => checkPeerSpiffeId(cert, options.expectedServerId) },
  );
}

/** go-spiffe's server check: exactly one URI SAN, equal to the expected ID. */
export function checkPeerSpiffeId(cert: PeerCertificate, expected: string): Error | undefined {
  try {
    const actual = formatSpiffeId(spiffeIdFromSubjectAltName(cert.subjectaltname));
    return actual === expected ? undefined : new Error(`server SPIFFE ID is ${actual}, expected ${expected}`);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
