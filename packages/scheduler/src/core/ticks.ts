import { type FailurePolicy, type JobPlan, type TickState } from './job-model.js';
import { parseSchedule, type Schedule } from './schedule.js';

export type TriggerOutcome = 'success' | 'failed';

function scheduleOf(plan: JobPlan, schedule: Schedule | undefined): Schedule | undefined {
  if (plan.schedule === undefined) return undefined;
  return schedule ?? parseSchedule(plan.schedule);
}

/**
 * The scheduled time of the next tick after `count` consumed ticks, the last
 * at `lastMs`, or undefined when the job is finished (docs/scheduler.md §5.1,
 * after `diagridio/go-etcd-cron:internal/counter/counter.go`). Only scheduled
 * times enter: never the wall clock, so missed ticks are all replayed.
 */
export function nextTickMs(plan: JobPlan, schedule: Schedule | undefined, count: number, lastMs: number | undefined): number | undefined {
  if (plan.repeats !== undefined && count >= plan.repeats) return undefined;
  const sched = scheduleOf(plan, schedule);
  let next: number | undefined;
  if (sched === undefined) {
    // One-shot: its single tick is the due time.
    next = count >= 1 ? undefined : plan.beginMs;
  } else if (lastMs === undefined) {
    next = plan.beginFires ? plan.beginMs : sched.next(plan.beginMs);
  } else {
    next = sched.next(lastMs);
  }
  if (next === undefined) return undefined;
  // The TTL check applies to every tick, the first included.
  if (plan.expirationMs !== undefined && next > plan.expirationMs) return undefined;
  return next;
}

function tickAt(count: number, lastMs: number | undefined, tickMs: number): TickState {
  return { count, ...(lastMs === undefined ? {} : { lastMs }), attempts: 0, tickMs, dueMs: tickMs };
}

/** Where a new (or overwritten) job starts; undefined when it finishes without firing. */
export function firstTick(plan: JobPlan, schedule: Schedule | undefined): TickState | undefined {
  const next = nextTickMs(plan, schedule, 0, undefined);
  return next === undefined ? undefined : tickAt(0, undefined, next);
}

/** Consumes the current tick and moves to the next one, or finishes the job. */
function consume(plan: JobPlan, schedule: Schedule | undefined, state: TickState): TickState | undefined {
  const count = state.count + 1;
  const next = nextTickMs(plan, schedule, count, state.tickMs);
  return next === undefined ? undefined : tickAt(count, state.tickMs, next);
}

/**
 * The state after daprd answered a trigger (docs/scheduler.md §5.2). Success
 * consumes the tick. A failure counts an attempt; `drop` then consumes the
 * tick, `constant` retries it `intervalMs` after the previous attempt's due
 * time while attempts ≤ maxRetries (forever without a bound), then consumes
 * it. Undefined means the job is finished and must be deleted.
 */
export function afterOutcome(
  plan: JobPlan,
  schedule: Schedule | undefined,
  policy: FailurePolicy,
  state: TickState,
  outcome: TriggerOutcome,
): TickState | undefined {
  if (outcome === 'success') return consume(plan, schedule, state);
  const attempts = state.attempts + 1;
  if (policy.kind === 'constant' && (policy.maxRetries === undefined || attempts <= policy.maxRetries)) {
    // The TTL is not checked for a retry: it only bounds new ticks.
    return { ...state, attempts, dueMs: state.dueMs + policy.intervalMs };
  }
  return consume(plan, schedule, state);
}
