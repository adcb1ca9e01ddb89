import { credentials, type ClientDuplexStream, type ClientReadableStream, type Client, type ServiceError } from '@grpc/grpc-js';
import { schedulerService } from '@tsdapr/grpc';

/**
 * A small typed test client for dapr.proto.scheduler.v1.Scheduler over
 * plaintext gRPC, speaking the wire protocol as daprd does
 * (dapr/dapr:pkg/runtime/scheduler/internal/cluster/streamer.go): unary calls
 * as promises, WatchJobs streams that collect triggers and ack them, and
 * WatchHosts streams that collect host lists. Test-only.
 */

export interface AnyMessage {
  readonly type_url: string;
  readonly value: Buffer;
}

export type Target = { readonly job: Record<string, never> } | { readonly actor: { readonly type: string; readonly id: string } };

export interface Metadata {
  readonly app_id: string;
  readonly namespace: string;
  readonly target?: Target;
}

export interface FailurePolicy {
  readonly drop?: Record<string, never>;
  readonly constant?: { readonly interval?: { readonly seconds?: string | number; readonly nanos?: number }; readonly max_retries?: number };
}

export interface Job {
  readonly schedule?: string;
  readonly repeats?: number;
  readonly due_time?: string;
  readonly ttl?: string;
  readonly data?: AnyMessage;
  readonly failure_policy?: FailurePolicy;
}

/** A job as the server returns it (proto-loader's view: defaults filled, oneof names added). */
export interface ReturnedJob {
  readonly schedule?: string;
  readonly repeats?: number;
  readonly due_time?: string;
  readonly ttl?: string;
  readonly data: AnyMessage | null;
  readonly failure_policy?: {
    readonly policy?: 'drop' | 'constant';
    readonly drop?: object | null;
    readonly constant?: { readonly interval: { readonly seconds: string; readonly nanos: number } | null; readonly max_retries?: number } | null;
  } | null;
}

export interface ReturnedMetadata {
  readonly app_id: string;
  readonly namespace: string;
  readonly target: { readonly type?: 'job' | 'actor'; readonly job?: object | null; readonly actor?: { readonly id: string; readonly type: string } | null } | null;
}

export interface NamedJob {
  readonly name: string;
  readonly metadata: ReturnedMetadata;
  readonly job: ReturnedJob;
}

export type JobTargetType = 'JOB_TARGET_TYPE_JOB' | 'JOB_TARGET_TYPE_ACTOR_REMINDER';

export interface WatchJobsInitial {
  readonly app_id: string;
  readonly namespace: string;
  readonly actor_types?: readonly string[];
  readonly accept_job_types?: readonly JobTargetType[];
}

export interface ReceivedTrigger {
  readonly name: string;
  readonly id: string;
  readonly data: AnyMessage | null;
  readonly metadata: ReturnedMetadata;
  /** Date.now() when it arrived. */
  readonly at: number;
}

export type AckStatus = 'SUCCESS' | 'FAILED';

/**
 * How a stream answers triggers: always SUCCESS or FAILED, per trigger (a
 * status, or undefined to withhold the ack), or 'manual' (the test calls `ack`).
 */
export type AckMode = AckStatus | 'manual' | ((trigger: ReceivedTrigger) => AckStatus | undefined);

export interface StreamEnd {
  readonly code: number;
  readonly details: string;
}

export interface JobsStream {
  readonly triggers: readonly ReceivedTrigger[];
  /** Triggers with this name, in arrival order. */
  named(name: string): ReceivedTrigger[];
  ack(id: string, status?: AckStatus): void;
  /** Resolves once at least `count` triggers matched (all when no filter), or rejects after `timeoutMs`. */
  waitFor(count: number, options?: { readonly name?: string; readonly timeoutMs?: number }): Promise<ReceivedTrigger[]>;
  /** Sends a raw message (for protocol-error tests). */
  send(message: object): void;
  /** Half-closes the client side (the server ends the stream in turn). */
  end(): void;
  /** Cancels the call, as daprd does when it drops a stream. */
  cancel(): void;
  /** How the stream ended (status code and details); pending while open. */
  readonly ended: Promise<StreamEnd>;
  isEnded(): boolean;
}

export interface HostsStream {
  readonly messages: ReadonlyArray<{ readonly hosts: string[]; readonly at: number }>;
  waitFor(count: number, timeoutMs?: number): Promise<Array<{ hosts: string[]; at: number }>>;
  cancel(): void;
  readonly ended: Promise<StreamEnd>;
}

type Callback<T> = (err: ServiceError | null, value?: T) => void;
type UnaryMethod = (request: object, options: { deadline: number }, callback: Callback<unknown>) => void;

export const JOB_TARGET: Target = { job: {} };

export function jobMeta(appId: string, namespace = 'default'): Metadata {
  return { app_id: appId, namespace, target: { job: {} } };
}

export function actorMeta(appId: string, type: string, id: string, namespace = 'default'): Metadata {
  return { app_id: appId, namespace, target: { actor: { type, id } } };
}

export class SchedulerTestClient {
  readonly client: Client;
  private readonly streams = new Set<{ cancel(): void }>();

  constructor(
    readonly address: string,
    private readonly deadlineMs = 15_000,
  ) {
    const { Client: Ctor } = schedulerService();
    this.client = new Ctor(address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 2 ** 31 - 1,
      'grpc.max_send_message_length': 2 ** 31 - 1,
      // Fail fast when the server is gone instead of waiting for ready.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  private unary<T>(method: string, request: object, deadlineMs = this.deadlineMs): Promise<T> {
    const fn = (this.client as unknown as Record<string, UnaryMethod>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(this.client, request, { deadline: Date.now() + deadlineMs }, (err, value) => (err ? reject(err) : resolve(value as T)));
    });
  }

  async schedule(name: string, job: Job | undefined, metadata: Metadata, overwrite = false, deadlineMs?: number): Promise<void> {
    await this.unary('ScheduleJob', { name, ...(job ? { job } : {}), metadata, overwrite }, deadlineMs);
  }

  async get(name: string, metadata: Metadata): Promise<ReturnedJob> {
    return (await this.unary<{ job: ReturnedJob }>('GetJob', { name, metadata })).job;
  }

  async delete(name: string, metadata: Metadata): Promise<void> {
    await this.unary('DeleteJob', { name, metadata });
  }

  async list(metadata: Metadata): Promise<NamedJob[]> {
    return (await this.unary<{ jobs: NamedJob[] }>('ListJobs', { metadata })).jobs;
  }

  async deleteByMetadata(metadata: Metadata, idPrefixMatch?: boolean): Promise<void> {
    await this.unary('DeleteByMetadata', { metadata, ...(idPrefixMatch === undefined ? {} : { id_prefix_match: idPrefixMatch }) });
  }

  async deleteByNamePrefix(namePrefix: string, metadata: Metadata): Promise<void> {
    await this.unary('DeleteByNamePrefix', { name_prefix: namePrefix, metadata });
  }

  /**
   * Opens a WatchJobs stream and sends `initial` (or, with `first`, that
   * message instead). Triggers are collected and acked per `ack`.
   */
  watchJobs(initial: WatchJobsInitial, options: { readonly ack?: AckMode; readonly first?: object } = {}): JobsStream {
    const mode = options.ack ?? 'SUCCESS';
    const call = (this.client as unknown as { WatchJobs(): ClientDuplexStream<object, RawTrigger> }).WatchJobs();
    const triggers: ReceivedTrigger[] = [];
    const waiters = new Set<() => void>();
    let done = false;
    let resolveEnd: (end: StreamEnd) => void = () => undefined;
    const ended = new Promise<StreamEnd>((resolve) => (resolveEnd = resolve));
    const finish = (end: StreamEnd): void => {
      if (done) return;
      done = true;
      this.streams.delete(handle);
      resolveEnd(end);
      for (const wake of waiters) wake();
    };
    const send = (message: object): void => {
      if (done) return;
      try {
        call.write(message);
      } catch {
        // the stream is going away; its end is reported through `ended`
      }
    };
    const ack = (id: string, status: AckStatus = 'SUCCESS'): void => send({ result: { id, status } });
    call.on('data', (raw: RawTrigger) => {
      const trigger: ReceivedTrigger = { name: raw.name, id: String(raw.id), data: raw.data, metadata: raw.metadata, at: Date.now() };
      triggers.push(trigger);
      const status = typeof mode === 'function' ? mode(trigger) : mode === 'manual' ? undefined : mode;
      if (status) ack(trigger.id, status);
      for (const wake of waiters) wake();
    });
    call.on('status', (status: { code: number; details: string }) => finish({ code: status.code, details: status.details }));
    call.on('error', (err: ServiceError) => finish({ code: err.code, details: err.details }));
    send(options.first ?? { initial: { ...initial, actor_types: [...(initial.actor_types ?? [])], accept_job_types: [...(initial.accept_job_types ?? [])] } });
    const handle = { cancel: () => call.cancel() };
    this.streams.add(handle);

    const stream: JobsStream = {
      triggers,
      named: (name) => triggers.filter((trigger) => trigger.name === name),
      ack,
      send,
      waitFor(count, waitOptions = {}) {
        const timeoutMs = waitOptions.timeoutMs ?? 10_000;
        const matching = (): ReceivedTrigger[] => (waitOptions.name === undefined ? [...triggers] : stream.named(waitOptions.name));
        return new Promise((resolve, reject) => {
          const check = (): void => {
            const found = matching();
            if (found.length >= count) {
              cleanup();
              resolve(found);
            } else if (done) {
              cleanup();
              reject(new Error(`WatchJobs stream ended after ${found.length} of ${count} trigger(s)${waitOptions.name ? ` named ${waitOptions.name}` : ''}`));
            }
          };
          const timer = setTimeout(() => {
            cleanup();
            reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} trigger(s)${waitOptions.name ? ` named ${waitOptions.name}` : ''}; got ${matching().length}: ${triggers.map((t) => t.name).join(', ')}`));
          }, timeoutMs);
          const cleanup = (): void => {
            clearTimeout(timer);
            waiters.delete(check);
          };
          waiters.add(check);
          check();
        });
      },
      end: () => {
        if (!done) call.end();
      },
      cancel: () => call.cancel(),
      ended,
      isEnded: () => done,
    };
    return stream;
  }

  watchHosts(): HostsStream {
    const call = (this.client as unknown as { WatchHosts(request: object): ClientReadableStream<{ hosts: Array<{ address: string }> }> }).WatchHosts({});
    const messages: Array<{ hosts: string[]; at: number }> = [];
    const waiters = new Set<() => void>();
    let done = false;
    let resolveEnd: (end: StreamEnd) => void = () => undefined;
    const ended = new Promise<StreamEnd>((resolve) => (resolveEnd = resolve));
    const finish = (end: StreamEnd): void => {
      if (done) return;
      done = true;
      this.streams.delete(handle);
      resolveEnd(end);
      for (const wake of waiters) wake();
    };
    call.on('data', (message: { hosts: Array<{ address: string }> }) => {
      messages.push({ hosts: message.hosts.map((host) => host.address), at: Date.now() });
      for (const wake of waiters) wake();
    });
    call.on('status', (status: { code: number; details: string }) => finish({ code: status.code, details: status.details }));
    call.on('error', (err: ServiceError) => finish({ code: err.code, details: err.details }));
    const handle = { cancel: () => call.cancel() };
    this.streams.add(handle);
    return {
      messages,
      waitFor(count, timeoutMs = 10_000) {
        return new Promise((resolve, reject) => {
          const check = (): void => {
            if (messages.length >= count) {
              cleanup();
              resolve([...messages]);
            } else if (done) {
              cleanup();
              reject(new Error(`WatchHosts stream ended after ${messages.length} of ${count} message(s)`));
            }
          };
          const timer = setTimeout(() => {
            cleanup();
            reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} WatchHosts message(s); got ${JSON.stringify(messages)}`));
          }, timeoutMs);
          const cleanup = (): void => {
            clearTimeout(timer);
            waiters.delete(check);
          };
          waiters.add(check);
          check();
        });
      },
      cancel: () => call.cancel(),
      ended,
    };
  }

  /** Cancels every open stream and closes the channel. */
  close(): void {
    for (const stream of [...this.streams]) stream.cancel();
    this.streams.clear();
    this.client.close();
  }
}

interface RawTrigger {
  readonly name: string;
  readonly id: string | number;
  readonly data: AnyMessage | null;
  readonly metadata: ReturnedMetadata;
}

/** The gRPC status of a rejected call, for assertions. */
export async function grpcFailure(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (err) {
    const error = err as ServiceError;
    if (typeof error.code === 'number') return { code: error.code, details: error.details };
    throw err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
