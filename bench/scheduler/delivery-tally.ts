import { jobName } from './job-plan.js';
import type { JobPayload } from './job-payload.js';

export type Receipt = 'first' | 'duplicate' | 'unexpected' | 'foreign';

/**
 * Every trigger received in a run, per job: the lateness of its first
 * delivery (receive instant minus the due instant it carries), how many
 * more arrived (duplicates), and whatever should not have arrived at all.
 */
export class DeliveryTally {
  /** Receive instant minus due instant of the first delivery, ms; NaN until then. */
  readonly lateness: Float64Array;
  private readonly deliveries: Uint16Array;
  private readonly dueMs: Float64Array;
  private readonly expected: Uint8Array;
  expectedCount = 0;
  received = 0;
  duplicates = 0;
  /** Delivered before their due instant (upstream never does). */
  early = 0;
  /** A trigger of a job whose ScheduleJob did not succeed. */
  unexpected = 0;
  /** Not this run's (no payload, an index out of range, a due instant or name that does not match). */
  foreign = 0;
  /** Delivered to a stream of another app than the job's. */
  misrouted = 0;
  /** The instant of the last first delivery, ms. */
  lastReceivedAt = NaN;

  constructor(
    readonly jobs: number,
    private readonly apps: number,
  ) {
    this.lateness = new Float64Array(jobs).fill(NaN);
    this.deliveries = new Uint16Array(jobs);
    this.dueMs = new Float64Array(jobs).fill(NaN);
    this.expected = new Uint8Array(jobs);
  }

  /** Job `index`, due at `dueMs`, was scheduled: its trigger is expected. */
  expect(index: number, dueMs: number): void {
    if (this.expected[index]) return;
    this.expected[index] = 1;
    this.dueMs[index] = dueMs;
    this.expectedCount++;
  }

  /** A ScheduleJob that failed: its trigger is not expected after all (unless one already came: then the job exists). */
  retract(index: number): void {
    if (!this.expected[index] || this.deliveries[index]! > 0) return;
    this.expected[index] = 0;
    this.dueMs[index] = NaN;
    this.expectedCount--;
  }

  /** One trigger, with the payload it carried (undefined when none could be read), on a stream of app `streamApp`. */
  record(payload: JobPayload | undefined, name: string, streamApp: number, receivedAt: number): Receipt {
    if (!payload || payload.index >= this.jobs || name !== jobName(payload.index)) {
      this.foreign++;
      return 'foreign';
    }
    const { index } = payload;
    if (!this.expected[index]) {
      this.unexpected++;
      return 'unexpected';
    }
    if (payload.dueMs !== this.dueMs[index]) {
      this.foreign++;
      return 'foreign';
    }
    if (index % this.apps !== streamApp) this.misrouted++;
    const count = this.deliveries[index]!;
    if (count < 0xffff) this.deliveries[index] = count + 1;
    if (count > 0) {
      this.duplicates++;
      return 'duplicate';
    }
    const late = receivedAt - payload.dueMs;
    this.lateness[index] = late;
    if (late < 0) this.early++;
    this.received++;
    this.lastReceivedAt = receivedAt;
    return 'first';
  }

  get missing(): number {
    return this.expectedCount - this.received;
  }

  get complete(): boolean {
    return this.received >= this.expectedCount;
  }

  /** Up to `limit` expected jobs never delivered, for the report. */
  missingIndices(limit: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.jobs && out.length < limit; i++) if (this.expected[i] && this.deliveries[i] === 0) out.push(i);
    return out;
  }
}
