import { status } from '@grpc/grpc-js';
import { TsdaprError } from '@tsdapr/runtime';

/**
 * Stable error codes of the scheduler. Transports map them to a gRPC status
 * with `grpcStatusOf`; metrics label by them. See docs/scheduler.md §6.
 */
export type SchedulerErrorCode =
  /** The request is malformed (missing job, empty namespace or app id). */
  | 'invalid_argument'
  /** schedule, due_time, ttl, repeats or failure policy refused. */
  | 'job_validation'
  | 'invalid_job_name'
  /** The metadata names no target. */
  | 'unknown_job_type'
  | 'already_exists'
  | 'not_found'
  | 'permission_denied'
  | 'unauthenticated'
  /** Not ready, or the store cannot be reached. */
  | 'unavailable'
  /** The store is full. */
  | 'resource_exhausted'
  | 'shutting_down'
  | 'deadline_exceeded'
  | 'canceled'
  | 'internal';

/** Every message of a `job_validation` error starts with this, as upstream's do (daprd shows it to users). */
export const JOB_VALIDATION_PREFIX = 'job failed validation: ';

export class SchedulerError extends TsdaprError {
  declare readonly code: SchedulerErrorCode;

  constructor(code: SchedulerErrorCode, message: string, options?: { cause?: unknown }) {
    // The prefix is added here so no call site can forget it.
    const text = code === 'job_validation' && !message.startsWith(JOB_VALIDATION_PREFIX) ? JOB_VALIDATION_PREFIX + message : message;
    super(code, text, options);
  }
}

const GRPC_STATUS: Record<SchedulerErrorCode, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  // Upstream answers UNKNOWN for the next three; daprd's Jobs API turns that
  // into HTTP 500. INVALID_ARGUMENT makes it a 400 (docs/scheduler.md §6).
  job_validation: status.INVALID_ARGUMENT,
  invalid_job_name: status.INVALID_ARGUMENT,
  unknown_job_type: status.INVALID_ARGUMENT,
  already_exists: status.ALREADY_EXISTS,
  not_found: status.NOT_FOUND,
  permission_denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  unavailable: status.UNAVAILABLE,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  // daprd's client retries UNAVAILABLE on another replica.
  shutting_down: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  canceled: status.CANCELLED,
  internal: status.INTERNAL,
};

export function grpcStatusOf(code: SchedulerErrorCode): status {
  return GRPC_STATUS[code];
}

/** The gRPC status for any thrown value: unknown errors are INTERNAL. */
export function grpcStatusOfError(err: unknown): status {
  return err instanceof SchedulerError ? grpcStatusOf(err.code) : status.INTERNAL;
}
