import type { Etcd3 } from 'etcd3';
import { SchedulerError } from '../core/scheduler-error.js';
import { storeError } from '../etcd/etcd-client.js';
import { decodeJob, decodeState, dueKey, encodeJob, encodeState, type JobRecord, type StateRecord } from './records.js';

/** A job and its tick state as read together, with the revisions a later write compares against. */
export interface LoadedJob {
  readonly job: JobRecord;
  readonly jobModRevision: string;
  readonly state: StateRecord;
  readonly stateModRevision: string;
}

export type CommitResult = 'committed' | 'stale';

/**
 * The jobs in etcd: what the API writes and reads, and what the engine reads
 * before a trigger and writes after its outcome. Every write that depends on
 * what was read compares revisions, so a job overwritten or deleted while a
 * trigger was in flight is never brought back by that trigger's outcome.
 */
export class JobStore {
  constructor(
    private readonly client: Etcd3,
    readonly prefix: string,
  ) {}

  jobKey(composed: string): string {
    return `${this.prefix}jobs/${composed}`;
  }

  stateKey(composed: string): string {
    return `${this.prefix}state/${composed}`;
  }

  /**
   * Stores a new job (or a new version of it, with `overwrite`). `first`
   * undefined: the job has no tick at all (its first would be past its TTL),
   * so nothing is stored but an older version is still replaced.
   */
  async schedule(composed: string, job: JobRecord, first: StateRecord | undefined, overwrite: boolean): Promise<void> {
    const puts = [this.client.put(this.jobKey(composed)).value(encodeJob(job))];
    if (first) {
      puts.push(this.client.put(this.stateKey(composed)).value(encodeState(first)), this.client.put(first.dueKey).value(job.uid));
    }
    try {
      if (overwrite) {
        const ops = first ? puts : [this.client.delete().key(this.jobKey(composed)), this.client.delete().key(this.stateKey(composed))];
        await this.client.if(this.jobKey(composed), 'Create', '>', -1).then(...ops).commit();
        return;
      }
      const result = await this.client.if(this.jobKey(composed), 'Create', '==', 0).then(...(first ? puts : [])).commit();
      if (!result.succeeded) throw new SchedulerError('already_exists', `job already exists: '${composed}'`);
    } catch (err) {
      throw storeError(err, 'storing the job');
    }
  }

  async get(composed: string): Promise<JobRecord | undefined> {
    try {
      const text = await this.client.get(this.jobKey(composed)).string();
      return text === null ? undefined : decodeJob(text);
    } catch (err) {
      throw storeError(err, 'reading the job');
    }
  }

  /** Deletes a job and its state; its due key becomes an orphan. Missing is not an error. */
  async delete(composed: string): Promise<void> {
    try {
      await this.client
        .if(this.jobKey(composed), 'Create', '>', -1)
        .then(this.client.delete().key(this.jobKey(composed)), this.client.delete().key(this.stateKey(composed)))
        .commit();
    } catch (err) {
      throw storeError(err, 'deleting the job');
    }
  }

  /** Deletes every job whose composed name starts with one of the prefixes, atomically. */
  async deleteByPrefixes(prefixes: readonly string[]): Promise<void> {
    if (prefixes.length === 0) return;
    const ops = prefixes.flatMap((prefix) => [this.client.delete().prefix(this.jobKey(prefix)), this.client.delete().prefix(this.stateKey(prefix))]);
    try {
      await this.client.if(this.jobKey(''), 'Create', '>', -1).then(...ops).commit();
    } catch (err) {
      throw storeError(err, 'deleting jobs');
    }
  }

  /** Every job whose composed name starts with `prefix`, in byte order of the name. */
  async list(prefix: string): Promise<Array<{ composed: string; job: JobRecord }>> {
    const out: Array<{ composed: string; job: JobRecord }> = [];
    const base = this.jobKey('');
    try {
      // Pages of 1,000 keys, so one huge app does not make one huge response from etcd.
      let from = this.jobKey(prefix);
      const end = prefixEnd(this.jobKey(prefix));
      for (;;) {
        const page = await this.client.getAll().inRange({ start: from, end }).limit(1000).sort('Key', 'Ascend').exec();
        for (const kv of page.kvs) out.push({ composed: kv.key.toString('utf8').slice(base.length), job: decodeJob(kv.value.toString('utf8')) });
        const last = page.kvs[page.kvs.length - 1];
        if (!page.more || !last) break;
        from = `${last.key.toString('utf8')}\0`;
      }
    } catch (err) {
      throw storeError(err, 'listing jobs');
    }
    return out;
  }

  /** The job and state a trigger needs, or undefined when the job is gone or its state is not at `expectedDueKey`. */
  async load(composed: string): Promise<LoadedJob | undefined> {
    // One transaction of two reads: one round trip, and both from the same revision.
    const result = await this.client
      .if(this.jobKey(composed), 'Create', '>', -1)
      .then(this.client.get(this.jobKey(composed)), this.client.get(this.stateKey(composed)))
      .commit();
    const jobKv = result.responses[0]?.response_range.kvs[0];
    const stateKv = result.responses[1]?.response_range.kvs[0];
    if (!jobKv || !stateKv) return undefined;
    const job = decodeJob(jobKv.value.toString('utf8'));
    const state = decodeState(stateKv.value.toString('utf8'));
    if (job.uid !== state.uid) return undefined;
    return { job, jobModRevision: jobKv.mod_revision, state, stateModRevision: stateKv.mod_revision };
  }

  /**
   * Writes a trigger's outcome: the next state and due key, or (next
   * undefined) the end of the job. Only if the state is still the one the
   * trigger was loaded with; otherwise the job was overwritten, deleted or
   * advanced by another replica, and nothing is written.
   */
  async commit(composed: string, loaded: LoadedJob, next: StateRecord | undefined): Promise<CommitResult> {
    const txn = this.client.if(this.stateKey(composed), 'Mod', '==', loaded.stateModRevision);
    const result = next
      ? await txn
          .then(
            // A retry with a 0 s interval keeps its due key: etcd refuses a delete and a put of one key in one transaction.
            ...(next.dueKey === loaded.state.dueKey ? [] : [this.client.delete().key(loaded.state.dueKey)]),
            this.client.put(this.stateKey(composed)).value(encodeState(next)),
            this.client.put(next.dueKey).value(next.uid),
          )
          .commit()
      : await txn
          .then(this.client.delete().key(loaded.state.dueKey), this.client.delete().key(this.stateKey(composed)), this.client.delete().key(this.jobKey(composed)))
          .commit();
    return result.succeeded ? 'committed' : 'stale';
  }

  /** Removes a due key that no state names any more. */
  async deleteOrphan(key: string, composed: string): Promise<void> {
    // Only while the state (if any) still names another key: a new version may have just taken this one.
    const stateKey = this.stateKey(composed);
    const current = await this.client.get(stateKey).exec();
    const kv = current.kvs[0];
    if (kv && decodeState(kv.value.toString('utf8')).dueKey === key) return;
    await this.client
      .if(stateKey, 'Mod', '==', kv ? kv.mod_revision : '0')
      .then(this.client.delete().key(key))
      .commit();
  }

  dueKeyFor(dueMs: number, job: JobRecord, composed: string): string {
    return dueKey(this.prefix, dueMs, job.bucket, composed);
  }
}

/** The first key after every key that starts with `prefix` (etcd's range end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if ((bytes[i] ?? 0) < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = (end[i] ?? 0) + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}
