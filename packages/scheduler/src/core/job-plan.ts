import { DEFAULT_FAILURE_POLICY, type FailurePolicy, type JobPlan, type JobSpec } from './job-model.js';
import { parsePointInTime } from './point-in-time.js';
import { parseSchedule, type Schedule } from './schedule.js';
import { SchedulerError } from './scheduler-error.js';

export interface PlannedJob {
  readonly plan: JobPlan;
  /** The policy to store: the submitted one, or the default (GetJob returns it). */
  readonly failurePolicy: FailurePolicy;
  /** The parsed schedule, so callers need not parse it again. */
  readonly schedule: Schedule | undefined;
}

const MAX_UINT32 = 0xffff_ffff;

function refuse(reason: string): SchedulerError {
  return new SchedulerError('job_validation', reason);
}

function checkFailurePolicy(policy: FailurePolicy): void {
  if (policy.kind === 'drop') return;
  if (!Number.isFinite(policy.intervalMs) || policy.intervalMs < 0) {
    throw refuse(`failure policy interval must not be negative, got ${policy.intervalMs}ms`);
  }
  const max = policy.maxRetries;
  if (max !== undefined && (!Number.isInteger(max) || max < 0 || max > MAX_UINT32)) {
    throw refuse(`failure policy max retries must be an integer from 0 to ${MAX_UINT32}, got ${max}`);
  }
}

/**
 * Validates a submitted job and resolves its instants, with the rules and
 * order of `diagridio/go-etcd-cron:internal/scheduler/builder.go`
 * (docs/scheduler.md §4). Relative due times count from the creation
 * instant, relative TTLs from the due time when there is one.
 */
export function planJob(spec: JobSpec, nowMs: number): PlannedJob {
  const hasSchedule = spec.schedule !== undefined;
  const hasDue = spec.dueTime !== undefined;
  if (!hasSchedule && !hasDue) throw refuse('job must have either a due time or a schedule');
  if (!hasSchedule && spec.repeats !== undefined && spec.repeats > 1) throw refuse('job must have a schedule to repeat');
  if (spec.repeats !== undefined) {
    if (!Number.isInteger(spec.repeats) || spec.repeats > MAX_UINT32) throw refuse(`repeats must be an integer from 1 to ${MAX_UINT32}, got ${spec.repeats}`);
    if (spec.repeats < 1) throw refuse('defined repeats must be greater than 0');
  }
  if (!hasSchedule && spec.ttl !== undefined) throw refuse('job must have a schedule to have a ttl');
  const schedule = spec.schedule === undefined ? undefined : parseSchedule(spec.schedule);
  const failurePolicy = spec.failurePolicy ?? DEFAULT_FAILURE_POLICY;
  checkFailurePolicy(failurePolicy);

  // Upstream starts the clock at the current whole second (UTC).
  const createdMs = Math.floor(nowMs / 1000) * 1000;
  const beginMs = spec.dueTime === undefined ? createdMs : parsePointInTime(spec.dueTime, createdMs, 'due_time');
  let expirationMs: number | undefined;
  if (spec.ttl !== undefined) {
    expirationMs = parsePointInTime(spec.ttl, beginMs, 'ttl');
    // Equal is allowed: the tick at the due time is not after the expiration.
    if (hasDue && beginMs > expirationMs) throw refuse(`ttl must be greater than due time (ttl ${JSON.stringify(spec.ttl)}, due time ${JSON.stringify(spec.dueTime)})`);
  }

  const plan: JobPlan = {
    beginMs,
    beginFires: hasDue,
    ...(expirationMs === undefined ? {} : { expirationMs }),
    ...(spec.schedule === undefined ? {} : { schedule: spec.schedule }),
    ...(spec.repeats === undefined ? {} : { repeats: spec.repeats }),
  };
  return { plan, failurePolicy, schedule };
}
