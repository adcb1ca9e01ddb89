import type { AnyPayload, FailurePolicy, JobMetadata, JobPlan, JobSpec, TickState } from '../core/job-model.js';

/**
 * What the scheduler keeps in etcd, as JSON (docs/adr/0008). Three keys per
 * job, all under the key prefix:
 *   jobs/<composed name>   the job as submitted and its resolved plan
 *   state/<composed name>  where its ticks stand, and the due key of its current attempt
 *   due/<ms>/<bucket>/<composed name>  the time index the replicas load due jobs from
 * A due key whose state no longer names it is an orphan (the job was deleted
 * or overwritten) and is removed when it comes due.
 */
export interface JobRecord {
  /** Random per create or overwrite: tells a job's versions apart. */
  readonly uid: string;
  /** Which replica triggers it: bucket mod replicas (random, so load spreads). */
  readonly bucket: number;
  readonly metadata: JobMetadata;
  readonly spec: JobSpec;
  readonly plan: JobPlan;
  readonly failurePolicy: FailurePolicy;
}

export interface StateRecord extends TickState {
  readonly uid: string;
  readonly dueKey: string;
}

/** Buckets the job space is cut into; ownership moves a bucket at a time. */
export const BUCKETS = 256;

export function dueKey(prefix: string, dueMs: number, bucket: number, composed: string): string {
  return `${prefix}due/${dueMsText(dueMs)}/${bucket.toString(16).padStart(2, '0')}/${composed}`;
}

/** Fixed width, so byte order is time order; times before 1970 sort as 0. */
export function dueMsText(dueMs: number): string {
  return Math.max(0, Math.floor(dueMs)).toString().padStart(15, '0');
}

export interface ParsedDueKey {
  readonly dueMs: number;
  readonly bucket: number;
  readonly composed: string;
}

export function parseDueKey(prefix: string, key: string): ParsedDueKey | undefined {
  const rest = key.startsWith(`${prefix}due/`) ? key.slice(prefix.length + 4) : undefined;
  if (rest === undefined) return undefined;
  const match = /^(\d{15})\/([0-9a-f]{2})\/(.+)$/s.exec(rest);
  if (!match) return undefined;
  return { dueMs: Number(match[1]), bucket: parseInt(match[2] ?? '0', 16), composed: match[3] ?? '' };
}

interface EncodedAny {
  readonly typeUrl: string;
  readonly value: string;
}

type EncodedJobRecord = Omit<JobRecord, 'spec'> & { readonly spec: Omit<JobSpec, 'data'> & { readonly data?: EncodedAny } };

export function encodeJob(record: JobRecord): string {
  const { data, ...rest } = record.spec;
  const encoded: EncodedJobRecord = { ...record, spec: { ...rest, ...(data ? { data: { typeUrl: data.typeUrl, value: data.value.toString('base64') } } : {}) } };
  return JSON.stringify(encoded);
}

export function decodeJob(text: string): JobRecord {
  const encoded = JSON.parse(text) as EncodedJobRecord;
  const { data, ...rest } = encoded.spec;
  const spec: JobSpec = { ...rest, ...(data ? { data: { typeUrl: data.typeUrl, value: Buffer.from(data.value, 'base64') } satisfies AnyPayload } : {}) };
  return { ...encoded, spec };
}

export function encodeState(state: StateRecord): string {
  return JSON.stringify(state);
}

export function decodeState(text: string): StateRecord {
  return JSON.parse(text) as StateRecord;
}
