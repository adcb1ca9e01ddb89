/**
 * The scheduler's plain-data model of a job, independent of gRPC and etcd.
 * Field meanings follow upstream's scheduler.proto (`@dapr/dapr` 3.18.0,
 * dapr/proto/scheduler/v1) and docs/scheduler.md.
 */

/** Who a job is for: the app that created it, or an actor (a reminder). */
export type JobTarget = { readonly kind: 'job' } | { readonly kind: 'actor'; readonly type: string; readonly id: string };

export interface JobMetadata {
  readonly appId: string;
  readonly namespace: string;
  readonly target: JobTarget;
}

/** A `google.protobuf.Any`, kept byte for byte. */
export interface AnyPayload {
  readonly typeUrl: string;
  readonly value: Buffer;
}

export type FailurePolicy =
  | { readonly kind: 'drop' }
  /** `maxRetries` undefined: retry forever. */
  | { readonly kind: 'constant'; readonly intervalMs: number; readonly maxRetries?: number };

/** Upstream's default when a job names none: constant, 1 s, 3 retries (4 attempts). */
export const DEFAULT_FAILURE_POLICY: FailurePolicy = { kind: 'constant', intervalMs: 1000, maxRetries: 3 };

/** A job as submitted: the strings are kept so GetJob returns exactly what was sent. */
export interface JobSpec {
  readonly schedule?: string;
  readonly repeats?: number;
  readonly dueTime?: string;
  readonly ttl?: string;
  readonly data?: AnyPayload;
  readonly failurePolicy?: FailurePolicy;
}

/**
 * A validated job with its instants resolved at creation (relative due times
 * and TTLs count from the creation instant, so they must be resolved once and
 * stored).
 */
export interface JobPlan {
  /** The resolved due time (the job fires at it) or, without one, the creation instant (it does not). */
  readonly beginMs: number;
  readonly beginFires: boolean;
  /** The resolved TTL: no tick strictly after it. */
  readonly expirationMs?: number;
  readonly schedule?: string;
  readonly repeats?: number;
}

/**
 * Where a job stands. `tickMs` is the scheduled time of the tick being
 * delivered, `dueMs` when its current attempt is due (later than `tickMs`
 * after failures).
 */
export interface TickState {
  /** Ticks consumed (delivered, or abandoned by the failure policy). */
  readonly count: number;
  /** The scheduled time of the last consumed tick. */
  readonly lastMs?: number;
  /** Failed attempts of the current tick. */
  readonly attempts: number;
  readonly tickMs: number;
  readonly dueMs: number;
}
