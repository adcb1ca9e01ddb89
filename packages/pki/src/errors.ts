import { TsdaprError } from '@tsdapr/runtime';

/** The three keys of the `dapr-trust-bundle` Secret, named in every bundle error. */
export type BundleFile = 'ca.crt' | 'issuer.crt' | 'issuer.key';

export type BundleErrorCode =
  | 'bundle_empty'
  | 'bundle_anchor_parse'
  | 'bundle_anchor_not_ca'
  | 'bundle_anchor_not_self_signed'
  | 'bundle_issuer_parse'
  | 'bundle_issuer_not_ca'
  | 'bundle_key_parse'
  | 'bundle_key_unsupported'
  | 'bundle_key_mismatch'
  | 'bundle_chain_unverified'
  | 'bundle_not_valid_now';

/** Supplied CA material (ca.crt, issuer.crt, issuer.key) that sentry cannot use. */
export class BundleError extends TsdaprError {
  override readonly code: BundleErrorCode;

  constructor(
    code: BundleErrorCode,
    readonly file: BundleFile,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.code = code;
  }
}

export type CsrErrorCode =
  | 'csr_empty'
  | 'csr_too_large'
  | 'csr_not_pem'
  | 'csr_parse'
  | 'csr_key_unsupported'
  | 'csr_signature_algorithm_unsupported'
  | 'csr_signature_invalid';

/** A certificate signing request that cannot be used (sentry answers InvalidArgument). */
export class CsrError extends TsdaprError {
  override readonly code: CsrErrorCode;

  constructor(code: CsrErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
  }
}

export type SignErrorCode =
  | 'sign_invalid_spiffe_id'
  | 'sign_invalid_dns_name'
  | 'sign_invalid_validity'
  | 'sign_key_unsupported'
  | 'sign_failed';

/** A leaf that cannot be signed as asked (sentry answers Internal "failed to sign certificate"). */
export class SignError extends TsdaprError {
  override readonly code: SignErrorCode;

  constructor(code: SignErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
  }
}
