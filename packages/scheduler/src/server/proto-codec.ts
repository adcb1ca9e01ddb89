import type { AnyPayload, FailurePolicy, JobMetadata, JobSpec } from '../core/job-model.js';
import { SchedulerError } from '../core/scheduler-error.js';

/**
 * The scheduler.proto messages as @grpc/proto-loader gives and takes them
 * (keepCase, longs and enums as strings, oneofs named): conversions to and
 * from the plain model, in one place.
 */
export interface ProtoAny {
  readonly type_url?: string;
  readonly value?: Buffer | Uint8Array;
}

export interface ProtoDuration {
  readonly seconds?: string | number;
  readonly nanos?: number;
}

export interface ProtoFailurePolicy {
  readonly policy?: 'drop' | 'constant';
  readonly drop?: object | null;
  readonly constant?: { readonly interval?: ProtoDuration | null; readonly max_retries?: number } | null;
}

export interface ProtoJob {
  readonly schedule?: string;
  readonly repeats?: number;
  readonly due_time?: string;
  readonly ttl?: string;
  readonly data?: ProtoAny | null;
  readonly failure_policy?: ProtoFailurePolicy | null;
}

export interface ProtoMetadata {
  readonly app_id?: string;
  readonly namespace?: string;
  readonly target?: { readonly type?: 'job' | 'actor'; readonly job?: object | null; readonly actor?: { readonly id?: string; readonly type?: string } | null } | null;
}

/** Metadata as sent; a target of neither kind is upstream's `unknown job type: <nil>`. */
export function metadataFromProto(meta: ProtoMetadata | null | undefined): JobMetadata {
  const appId = meta?.app_id ?? '';
  const namespace = meta?.namespace ?? '';
  const target = meta?.target;
  const kind = target?.type ?? (target?.actor ? 'actor' : target?.job ? 'job' : undefined);
  if (kind === 'job') return { appId, namespace, target: { kind: 'job' } };
  if (kind === 'actor') return { appId, namespace, target: { kind: 'actor', type: target?.actor?.type ?? '', id: target?.actor?.id ?? '' } };
  throw new SchedulerError('unknown_job_type', 'unknown job type: <nil> (metadata.target must be job or actor)');
}

export function metadataToProto(meta: JobMetadata): ProtoMetadata {
  return {
    app_id: meta.appId,
    namespace: meta.namespace,
    target: meta.target.kind === 'job' ? { job: {} } : { actor: { id: meta.target.id, type: meta.target.type } },
  };
}

function durationMs(duration: ProtoDuration | null | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds ?? 0) * 1000 + (duration.nanos ?? 0) / 1e6;
}

export function jobFromProto(job: ProtoJob): JobSpec {
  const spec: { -readonly [K in keyof JobSpec]: JobSpec[K] } = {};
  if (job.schedule !== undefined && job.schedule !== null) spec.schedule = job.schedule;
  if (job.repeats !== undefined && job.repeats !== null) spec.repeats = job.repeats;
  if (job.due_time !== undefined && job.due_time !== null) spec.dueTime = job.due_time;
  if (job.ttl !== undefined && job.ttl !== null) spec.ttl = job.ttl;
  if (job.data) spec.data = { typeUrl: job.data.type_url ?? '', value: Buffer.from(job.data.value ?? Buffer.alloc(0)) } satisfies AnyPayload;
  const policy = job.failure_policy;
  if (policy) {
    const kind = policy.policy ?? (policy.constant ? 'constant' : policy.drop ? 'drop' : undefined);
    if (kind === 'drop') spec.failurePolicy = { kind: 'drop' };
    else if (kind === 'constant') {
      const constant = policy.constant;
      const intervalMs = durationMs(constant?.interval);
      spec.failurePolicy = {
        kind: 'constant',
        intervalMs,
        ...(constant?.max_retries !== undefined && constant.max_retries !== null ? { maxRetries: constant.max_retries } : {}),
      } satisfies FailurePolicy;
    }
  }
  return spec;
}

export function jobToProto(spec: JobSpec): ProtoJob {
  const policy = spec.failurePolicy;
  return {
    ...(spec.schedule !== undefined ? { schedule: spec.schedule } : {}),
    ...(spec.repeats !== undefined ? { repeats: spec.repeats } : {}),
    ...(spec.dueTime !== undefined ? { due_time: spec.dueTime } : {}),
    ...(spec.ttl !== undefined ? { ttl: spec.ttl } : {}),
    ...(spec.data ? { data: anyToProto(spec.data) } : {}),
    ...(policy
      ? {
          failure_policy:
            policy.kind === 'drop'
              ? { drop: {} }
              : {
                  constant: {
                    interval: { seconds: String(Math.floor(policy.intervalMs / 1000)), nanos: Math.round((policy.intervalMs % 1000) * 1e6) },
                    ...(policy.maxRetries !== undefined ? { max_retries: policy.maxRetries } : {}),
                  },
                },
        }
      : {}),
  };
}

export function anyToProto(data: AnyPayload | undefined): ProtoAny {
  return data ? { type_url: data.typeUrl, value: data.value } : { type_url: '', value: Buffer.alloc(0) };
}
