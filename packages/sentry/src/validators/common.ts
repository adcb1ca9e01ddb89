import { formatSpiffeId } from '@tsdapr/grpc';
import { ValidationError, type SignRequestIdentity, type ValidatedIdentity } from './validator.js';

/** The trust domain of application identities unless a Configuration says otherwise. */
export const DEFAULT_TRUST_DOMAIN = 'public';

export const MAX_APP_ID_LENGTH = 64;

/** Characters go-spiffe allows in a path segment. */
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;
/** Characters go-spiffe allows in a trust domain name. */
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;

/**
 * The checks every validator applies first (spec 2.2, upstream
 * `validator/internal/common.go`): the id is non-empty, has no dots and at
 * most 64 characters; the namespace is non-empty. The CSR's presence is the
 * server's check. Beyond upstream, both must be valid SPIFFE path segments,
 * which upstream only finds out when it builds the certificate.
 */
export function checkCommon(req: Pick<SignRequestIdentity, 'id' | 'namespace'>): void {
  if (req.id === '') throw new ValidationError('id_invalid', 'invalid request: parameter app-id cannot be empty');
  if (req.id.includes('.')) throw new ValidationError('id_invalid', 'invalid request: parameter app-id cannot contain dots');
  if (req.id.length > MAX_APP_ID_LENGTH) {
    throw new ValidationError('id_invalid', `invalid request: app ID must be ${MAX_APP_ID_LENGTH} characters or less`);
  }
  if (!PATH_SEGMENT.test(req.id)) {
    throw new ValidationError('id_invalid', 'invalid request: app ID may contain only letters, digits, "-" and "_"');
  }
  if (req.namespace === '') throw new ValidationError('namespace_empty', 'invalid request: namespace is required');
  if (!PATH_SEGMENT.test(req.namespace)) {
    throw new ValidationError('namespace_invalid', 'invalid request: namespace may contain only letters, digits, ".", "-" and "_"');
  }
}

export function isValidTrustDomain(trustDomain: string): boolean {
  return trustDomain.length > 0 && trustDomain.length <= 255 && TRUST_DOMAIN.test(trustDomain);
}

/** Throws `trust_domain_invalid` unless `trustDomain` is a valid SPIFFE trust domain name. */
export function checkTrustDomain(trustDomain: string, where: string): string {
  if (!isValidTrustDomain(trustDomain)) {
    throw new ValidationError(
      'trust_domain_invalid',
      `${where}: trust domain "${trustDomain}" is invalid (lower-case letters, digits, ".", "-" and "_" only)`,
    );
  }
  return trustDomain;
}

/** The request's trust domain, or `public` when it is empty (used by the insecure and JWKS validators). */
export function requestedTrustDomain(req: Pick<SignRequestIdentity, 'trustDomain'>): string {
  return req.trustDomain === '' ? DEFAULT_TRUST_DOMAIN : checkTrustDomain(req.trustDomain, 'invalid request');
}

export function validatedIdentity(trustDomain: string, namespace: string, id: string): ValidatedIdentity {
  return { trustDomain, namespace, id, spiffeId: formatSpiffeId({ trustDomain, namespace, id }) };
}
