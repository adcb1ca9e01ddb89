import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { formatSpiffeId, type SignCertificateRequest, type SignCertificateResponse as BaseSignCertificateResponse } from '@tsdapr/grpc';

export type { SignCertificateRequest };

/**
 * The response with upstream's `optional google.protobuf.StringValue jwt = 4`
 * (dapr/proto/sentry/v1/sentry.proto since 1.16, present in @dapr/dapr 3.18.0's copy).
 */
export type SignCertificateResponse = BaseSignCertificateResponse & { jwt?: { value: string } };
import { CsrError, parseCsr } from '@tsdapr/pki';
import { TsdaprError, errorCode, type Logger } from '@tsdapr/runtime';
import { SigningError, controlPlaneDnsNames, type CertificateAuthority } from '../ca/certificate-authority.js';
import type { JwtIssuer } from '../jwt/jwt-issuer.js';
import type { SentryMetrics } from '../metrics.js';
import { ValidationError, chooseValidator, type TokenValidatorName, type Validator } from '../validators/index.js';

/** Far above any real CSR (a few hundred bytes) or token (about 1 KiB). */
export const MAX_CSR_BYTES = 16 * 1024;
export const MAX_TOKEN_BYTES = 16 * 1024;
/** Far above any real use (a few audiences of a cloud provider's token exchange). */
export const MAX_JWT_AUDIENCES = 16;
export const MAX_JWT_AUDIENCE_BYTES = 1024;

class RequestError extends TsdaprError {}

export interface SignCertificateDeps {
  readonly ca: CertificateAuthority;
  readonly validators: ReadonlyMap<TokenValidatorName, Validator>;
  readonly mode: 'kubernetes' | 'standalone';
  readonly sentryNamespace: string;
  readonly trustAnchorsPem: () => string;
  readonly metrics: SentryMetrics;
  readonly logger: Logger;
  /** JWT issuing (`--jwt-enabled`); absent when off. */
  readonly jwt?: {
    readonly issuer: () => JwtIssuer | undefined;
    readonly ttlMs: number;
    readonly allowedClockSkewMs: () => number;
    readonly now: () => Date;
  };
}

/** Checks `jwt_audiences` before anything is signed; the answer names the bad entry. */
export function checkJwtAudiences(audiences: readonly string[]): void {
  if (audiences.length > MAX_JWT_AUDIENCES) {
    throw new RequestError('jwt_audiences_invalid', `jwt_audiences has ${audiences.length} entries; the limit is ${MAX_JWT_AUDIENCES}`);
  }
  audiences.forEach((audience, i) => {
    if (audience.trim() === '') throw new RequestError('jwt_audiences_invalid', `jwt_audiences[${i}] is empty`);
    if (Buffer.byteLength(audience) > MAX_JWT_AUDIENCE_BYTES) {
      throw new RequestError('jwt_audiences_invalid', `jwt_audiences[${i}] is ${Buffer.byteLength(audience)} bytes; the limit is ${MAX_JWT_AUDIENCE_BYTES}`);
    }
  });
}

/** The SignCertificate pipeline: validator, identity checks, CSR, signature. */
export async function signCertificate(request: SignCertificateRequest, deps: SignCertificateDeps): Promise<{ response: SignCertificateResponse; spiffeId: string }> {
  if (request.certificate_signing_request.length > MAX_CSR_BYTES) {
    throw new RequestError('request_too_large', `certificate_signing_request is ${request.certificate_signing_request.length} bytes; the limit is ${MAX_CSR_BYTES}`);
  }
  if (Buffer.byteLength(request.token) > MAX_TOKEN_BYTES) {
    throw new RequestError('request_too_large', `token is ${Buffer.byteLength(request.token)} bytes; the limit is ${MAX_TOKEN_BYTES}`);
  }
  const requestedAudiences = request.jwt_audiences ?? [];
  // With JWT issuing off, upstream ignores jwt_audiences and answers without `jwt`; so does this.
  if (deps.jwt) checkJwtAudiences(requestedAudiences);
  const jwtIssuer = deps.jwt?.issuer();
  if (deps.jwt && !jwtIssuer) throw new SigningError('ca_not_ready', 'the JWT signing key is not loaded yet');
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
  const response: SignCertificateResponse = {
    workload_certificate: Buffer.from(signed.certificatePem),
    trust_chain_certificates: [Buffer.from(deps.trustAnchorsPem())],
    valid_until: { seconds: Math.floor(notAfterMs / 1000), nanos: (notAfterMs % 1000) * 1e6 },
  };
  if (deps.jwt && jwtIssuer) {
    // The trust domain is always the first audience (upstream pkg/sentry/server/server.go).
    const token = await jwtIssuer.sign({
      subject: spiffeId,
      audiences: [identity.trustDomain, ...requestedAudiences],
      now: deps.jwt.now(),
      ttlMs: deps.jwt.ttlMs,
      allowedClockSkewMs: deps.jwt.allowedClockSkewMs(),
    });
    response.jwt = { value: token };
  }
  return { spiffeId, response };
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
