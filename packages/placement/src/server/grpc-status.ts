import { status, type StatusObject } from '@grpc/grpc-js';
import type { PlacementError, PlacementErrorCode } from '../errors.js';

/** The gRPC status each placement error ends a stream with (upstream's codes where upstream has the case). */
export const GRPC_STATUS: Readonly<Record<PlacementErrorCode, status>> = {
  not_leader: status.FAILED_PRECONDITION,
  shutting_down: status.UNAVAILABLE,
  leadership_lost: status.UNAVAILABLE,
  dissemination_timeout: status.DEADLINE_EXCEEDED,
  invalid_host: status.INVALID_ARGUMENT,
  permission_denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  version_ahead: status.INVALID_ARGUMENT,
  namespace_changed: status.INVALID_ARGUMENT,
  report_flood: status.RESOURCE_EXHAUSTED,
  serving_identity: status.UNAVAILABLE,
};

export function grpcStatusOf(error: PlacementError): Pick<StatusObject, 'code' | 'details'> {
  return { code: GRPC_STATUS[error.code], details: error.message };
}
