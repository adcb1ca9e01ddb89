import { status } from '@grpc/grpc-js';
import { TsdaprError } from '@tsdapr/runtime';

export type ApiErrorCode = 'identity_unknown' | 'namespace_mismatch' | 'invalid_argument' | 'not_found' | 'secret_not_found' | 'unavailable' | 'internal';

const STATUS: Record<ApiErrorCode, status> = {
  identity_unknown: status.PERMISSION_DENIED,
  namespace_mismatch: status.PERMISSION_DENIED,
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  secret_not_found: status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  internal: status.INTERNAL,
};

/** An error a caller of the Operator API sees; its code picks the gRPC status. */
export class ApiError extends TsdaprError {
  declare readonly code: ApiErrorCode;
  get grpcStatus(): status {
    return STATUS[this.code];
  }
}

/** The `{code, details}` grpc-js sends for any error. */
export function toServiceError(err: unknown): { code: status; details: string } {
  if (err instanceof ApiError) return { code: err.grpcStatus, details: err.message };
  return { code: status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}
