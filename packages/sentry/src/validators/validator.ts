import { TsdaprError, type Runner } from '@tsdapr/runtime';

/** The validators sentry knows (spec 2.2, 2.4); `insecure` and `kubernetes` are built in. */
export type TokenValidatorName = 'insecure' | 'kubernetes' | 'jwks';

/** The identity part of a SignCertificateRequest (the CSR is the server's business). */
export interface SignRequestIdentity {
  readonly id: string;
  readonly namespace: string;
  readonly token: string;
  /** Set only by control-plane services; the Kubernetes validator ignores it. */
  readonly trustDomain: string;
  readonly tokenValidator: 'UNKNOWN' | 'INSECURE' | 'KUBERNETES' | 'JWKS';
}

/** What a validator vouches for; the certificate is issued for `spiffeId`. */
export interface ValidatedIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  /** The app id (the last SPIFFE path segment). */
  readonly id: string;
  /** `spiffe://<trustDomain>/ns/<namespace>/<id>`. */
  readonly spiffeId: string;
}

export interface Validator {
  readonly name: TokenValidatorName;
  /** Resolves with the identity or rejects with a ValidationError. The signal aborts outgoing calls. */
  validate(req: SignRequestIdentity, signal?: AbortSignal): Promise<ValidatedIdentity>;
  /** Background work (caches, key refresh) to run for as long as the validator is used. */
  readonly runner?: Runner;
  ready(): boolean;
}

/**
 * Why a request's identity was refused. The code is the `reason` label of
 * the sign-failure metric; the server maps `validator_unspecified` and
 * `validator_not_enabled` to INVALID_ARGUMENT and every other code to
 * PERMISSION_DENIED. Messages go back to the caller: they never contain the
 * token.
 */
export type ValidationErrorCode =
  // choosing a validator
  | 'validator_unspecified'
  | 'validator_not_enabled'
  | 'validator_not_ready'
  // common checks
  | 'id_invalid'
  | 'namespace_empty'
  | 'namespace_invalid'
  | 'trust_domain_invalid'
  // tokens in general
  | 'token_missing'
  | 'token_malformed'
  // Kubernetes validator
  | 'token_review_failed'
  | 'token_not_authenticated'
  | 'token_bad_username'
  | 'token_pod_claim_missing'
  | 'pod_not_found'
  | 'pod_lookup_failed'
  | 'pod_uid_mismatch'
  | 'namespace_mismatch'
  | 'service_account_mismatch'
  | 'app_id_mismatch'
  | 'control_plane_pod_invalid'
  | 'configuration_annotation_empty'
  | 'configuration_not_found'
  | 'configuration_lookup_failed'
  // JWKS validator
  | 'token_algorithm_unsupported'
  | 'token_key_not_found'
  | 'token_signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_audience_mismatch'
  | 'token_subject_mismatch';

export class ValidationError extends TsdaprError {
  declare readonly code: ValidationErrorCode;

  constructor(code: ValidationErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
