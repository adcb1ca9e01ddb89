import type { AnyPayload, JobMetadata } from '../core/job-model.js';
import { deliverablePrefixes } from '../core/job-names.js';

export type TriggerOutcome = 'success' | 'failed' | 'undeliverable';

export interface Trigger {
  /** The user's job or reminder name. */
  readonly name: string;
  readonly composed: string;
  readonly metadata: JobMetadata;
  readonly data: AnyPayload | undefined;
}

/**
 * One WatchJobs stream as the engine sees it: what it accepts, and a way to
 * deliver a trigger and learn its outcome ('undeliverable' when the stream
 * ended before the ack).
 */
export interface TriggerStream {
  readonly namespace: string;
  readonly appId: string;
  readonly actorTypes: readonly string[];
  readonly acceptJobs: boolean;
  readonly acceptReminders: boolean;
  deliver(trigger: Trigger): Promise<TriggerOutcome>;
}

interface Rotation {
  readonly streams: TriggerStream[];
  next: number;
}

/**
 * The streams connected to this replica, indexed for routing: app jobs go to
 * streams of the creator's app id, reminders to streams that host the actor
 * type, each in the job's namespace, in rotation (docs/scheduler.md,
 * "Routing"). Registering a stream tells listeners its prefixes, so jobs
 * staged for want of a stream are released.
 */
export class ConnectionPool {
  private readonly byApp = new Map<string, Rotation>();
  private readonly byActorType = new Map<string, Rotation>();
  private readonly prefixCounts = new Map<string, number>();
  private readonly listeners = new Set<(prefixes: readonly string[]) => void>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  onPrefixesRegistered(listener: (prefixes: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  register(stream: TriggerStream): void {
    this.count++;
    if (stream.acceptJobs) add(this.byApp, `${stream.namespace}||${stream.appId}`, stream);
    if (stream.acceptReminders) for (const type of new Set(stream.actorTypes)) add(this.byActorType, `${stream.namespace}||${type}`, stream);
    const prefixes = prefixesOf(stream);
    for (const prefix of prefixes) this.prefixCounts.set(prefix, (this.prefixCounts.get(prefix) ?? 0) + 1);
    for (const listener of this.listeners) listener(prefixes);
  }

  unregister(stream: TriggerStream): void {
    this.count--;
    if (stream.acceptJobs) remove(this.byApp, `${stream.namespace}||${stream.appId}`, stream);
    if (stream.acceptReminders) for (const type of new Set(stream.actorTypes)) remove(this.byActorType, `${stream.namespace}||${type}`, stream);
    for (const prefix of prefixesOf(stream)) {
      const left = (this.prefixCounts.get(prefix) ?? 1) - 1;
      if (left > 0) this.prefixCounts.set(prefix, left);
      else this.prefixCounts.delete(prefix);
    }
  }

  /** The next stream in rotation that may receive this job, if any. */
  pick(metadata: JobMetadata): TriggerStream | undefined {
    const rotation =
      metadata.target.kind === 'job' ? this.byApp.get(`${metadata.namespace}||${metadata.appId}`) : this.byActorType.get(`${metadata.namespace}||${metadata.target.type}`);
    if (!rotation || rotation.streams.length === 0) return undefined;
    const stream = rotation.streams[rotation.next % rotation.streams.length];
    rotation.next = (rotation.next + 1) % rotation.streams.length;
    return stream;
  }
}

function prefixesOf(stream: TriggerStream): string[] {
  return deliverablePrefixes({
    appId: stream.appId,
    namespace: stream.namespace,
    actorTypes: [...stream.actorTypes],
    acceptJobs: stream.acceptJobs,
    acceptReminders: stream.acceptReminders,
  });
}

function add(index: Map<string, Rotation>, key: string, stream: TriggerStream): void {
  const rotation = index.get(key);
  if (rotation) rotation.streams.push(stream);
  else index.set(key, { streams: [stream], next: 0 });
}

function remove(index: Map<string, Rotation>, key: string, stream: TriggerStream): void {
  const rotation = index.get(key);
  if (!rotation) return;
  const at = rotation.streams.indexOf(stream);
  if (at >= 0) rotation.streams.splice(at, 1);
  if (rotation.streams.length === 0) index.delete(key);
}

/** The deliverable prefix a job waits on: its app's or its actor type's. */
export function stagingPrefix(metadata: JobMetadata): string {
  return metadata.target.kind === 'job' ? `app||${metadata.namespace}||${metadata.appId}||` : `actorreminder||${metadata.namespace}||${metadata.target.type}||`;
}
