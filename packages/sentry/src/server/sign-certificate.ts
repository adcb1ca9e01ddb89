import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { formatSpiffeId, type SignCertificateRequest, type SignCertificateResponse } from '@tsdapr/grpc';

export type { SignCertificateRequest, SignCertificateResponse };
import { CsrError, parseCsr } from '@tsdapr/pki';
import { TsdaprError, errorCode, type Logger } from '@tsdapr/runtime';
import { SigningError, controlPlaneDnsNames, type CertificateAuthority } from '../ca/certificate-authority.js';
import type { SentryMetrics } from '../metrics.js';
import { ValidationError, chooseValidator, type TokenValidatorName, type Validator } from '../validators/index.js';

/** Far above any real CSR (a few hundred bytes) or token (about 1 KiB). */
export const MAX_CSR_BYTES = 16 * 1024;
export const MAX_TOKEN_BYTES = 16 * 1024;

class RequestError extends TsdaprError {}

export interface SignCertificateDeps {
  readonly ca: CertificateAuthority;
  readonly validators: ReadonlyMap<TokenValidatorName, Validator>;
  readonly mode: 'kubernetes' | 'standalone';
  readonly sentryNamespace: string;
  readonly trustAnchorsPem: () => string;
  readonly metrics: SentryMetrics;
  readonly logger: Logger;
}

/** The SignCertificate pipeline: validator, identity checks, CSR, signature. */
export async function signCertificate(request: SignCertificateRequest, deps: SignCertificateDeps): Promise<{ response: SignCertificateResponse; spiffeId: string }> {
  if (request.certificate_signing_request.length > MAX_CSR_BYTES) {
    throw new RequestError('request_too_large', `certificate_signing_request is ${request.certificate_signing_request.length} bytes; the limit is ${MAX_CSR_BYTES}`);
  }
  if (Buffer.byteLength(request.token) > MAX_TOKEN_BYTES) {
    throw new RequestError('request_too_large', `token is ${Buffer.byteLength(request.token)} bytes; the limit is ${MAX_TOKEN_BYTES}`);
  }
  const identityRequest = {
    id: request.id,
    namespace: request.namespace,
    token: request.token,
    trustDomain: request.trust_domain,
    tokenValidator: request.token_validator,
  };
  const validator = chooseValidator(identityRequest, deps.validators, deps.mode);
  const identity = await validator.validate(identityRequest);
  const csr = parseCsr(request.certificate_signing_request, { maxBytes: MAX_CSR_BYTES });
  const spiffeId = formatSpiffeId({ trustDomain: identity.trustDomain, namespace: request.namespace, id: request.id });
  const signed = deps.ca.sign({
    spiffeId,
    dnsNames: controlPlaneDnsNames(request.id, request.namespace, deps.sentryNamespace),
    publicKey: csr.publicKey,
  });
  const notAfterMs = signed.notAfter.getTime();
  return {
    spiffeId,
    response: {
      workload_certificate: Buffer.from(signed.certificatePem),
      trust_chain_certificates: [Buffer.from(deps.trustAnchorsPem())],
      valid_until: { seconds: Math.floor(notAfterMs / 1000), nanos: (notAfterMs % 1000) * 1e6 },
    },
  };
}

export function grpcStatusFor(err: unknown): status {
  if (err instanceof ValidationError) {
    return err.code === 'validator_unspecified' || err.code === 'validator_not_enabled' ? status.INVALID_ARGUMENT : status.PERMISSION_DENIED;
  }
  if (err instanceof CsrError || err instanceof RequestError) return status.INVALID_ARGUMENT;
  if (err instanceof SigningError) return err.code === 'ca_not_ready' ? status.UNAVAILABLE : status.FAILED_PRECONDITION;
  return status.INTERNAL;
}

/** The grpc-js handler around signCertificate: status mapping, metrics, one log line per failure. */
export function signCertificateHandler(deps: SignCertificateDeps) {
  return (call: ServerUnaryCall<SignCertificateRequest, SignCertificateResponse>, callback: sendUnaryData<SignCertificateResponse>): void => {
    const started = process.hrtime.bigint();
    deps.metrics.signRequestsReceived.inc();
    const request = call.request;
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    signCertificate(request, deps).then(
      ({ response, spiffeId }) => {
        deps.metrics.signSuccess.inc();
        deps.metrics.signDuration.observe({ outcome: 'success' }, seconds());
        deps.logger.debug({ spiffeId, validator: request.token_validator }, 'certificate signed');
        callback(null, response);
      },
      (err: unknown) => {
        const code = grpcStatusFor(err);
        const reason = errorCode(err);
        deps.metrics.signFailure.inc({ reason });
        deps.metrics.signDuration.observe({ outcome: 'failure' }, seconds());
        const message = code === status.INTERNAL ? 'failed to sign certificate' : (err as Error).message;
        const fields = { reason, id: request.id, namespace: request.namespace, validator: request.token_validator };
        if (code === status.INTERNAL) deps.logger.error({ ...fields, err }, 'signing failed');
        else deps.logger.info({ ...fields, message }, 'signing request refused');
        callback({ code, details: message });
      },
    );
  };
}
