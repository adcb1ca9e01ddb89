import { credentials, Metadata, status, type CallOptions, type Client, type ClientDuplexStream, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { schedulerService } from '@tsdapr/grpc';
import type { AnyMessage } from './job-payload.js';

/** Field names as in the .proto (the loader keeps case; uint64 as strings; enums as names). */
export interface JobMetadata {
  readonly app_id: string;
  readonly namespace: string;
  readonly target: { readonly job: Record<string, never> };
}

export interface ScheduleJobRequest {
  readonly name: string;
  readonly job: { readonly due_time?: string; readonly schedule?: string; readonly data: AnyMessage };
  readonly metadata: JobMetadata;
  readonly overwrite: boolean;
}

export type WatchJobsRequest =
  | { readonly initial: { readonly app_id: string; readonly namespace: string; readonly actor_types: readonly string[]; readonly accept_job_types: readonly string[] } }
  | { readonly result: { readonly id: string; readonly status: 'SUCCESS' | 'FAILED' } };

export interface WatchJobsResponse {
  readonly name: string;
  readonly id: string;
  readonly data: { readonly type_url: string; readonly value: Buffer } | null;
  readonly metadata: { readonly app_id: string; readonly namespace: string } | null;
}

type Unary<Req, Res> = (request: Req, metadata: Metadata, options: CallOptions, callback: (error: ServiceError | null, response?: Res) => void) => ClientUnaryCall;

interface SchedulerStub extends Client {
  ScheduleJob: Unary<ScheduleJobRequest, object>;
  DeleteJob: Unary<{ name: string; metadata: JobMetadata }, object>;
  ListJobs: Unary<{ metadata: JobMetadata }, { jobs?: unknown[] }>;
  WatchJobs(metadata?: Metadata, options?: CallOptions): ClientDuplexStream<WatchJobsRequest, WatchJobsResponse>;
}

/**
 * What a daprd 1.17 sidecar's scheduler connection looks like: plaintext,
 * a keepalive ping every 3 s with a 5 s timeout, unbounded message sizes,
 * and a connection of its own (a local subchannel pool: grpc-js would
 * otherwise share one connection among all clients of an address).
 */
export const SIDECAR_CHANNEL_OPTIONS = {
  'grpc.use_local_subchannel_pool': 1,
  'grpc.keepalive_time_ms': 3000,
  'grpc.keepalive_timeout_ms': 5000,
  'grpc.max_send_message_length': 2 ** 31 - 1,
  'grpc.max_receive_message_length': 2 ** 31 - 1,
} as const;

/** The status code's name (`DEADLINE_EXCEEDED`), for counting errors by kind. */
export function codeName(error: { code?: number } | null | undefined): string {
  const code = error?.code;
  if (code === undefined) return 'NO_STATUS';
  return (status as unknown as Record<number, string>)[code] ?? `CODE_${code}`;
}

/** One sidecar's connection to the scheduler under test. */
export class SchedulerConnection {
  private readonly stub: SchedulerStub;

  constructor(
    readonly address: string,
    readonly appId: string,
    readonly namespace: string,
  ) {
    const { Client: SchedulerClient } = schedulerService();
    this.stub = new SchedulerClient(address, credentials.createInsecure(), SIDECAR_CHANNEL_OPTIONS) as unknown as SchedulerStub;
  }

  get metadata(): JobMetadata {
    return { app_id: this.appId, namespace: this.namespace, target: { job: {} } };
  }

  private unary<Req, Res>(method: Unary<Req, Res>, request: Req, timeoutMs: number): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(this.stub, request, new Metadata(), { deadline: Date.now() + Math.max(1, timeoutMs) }, (error, response) => {
        if (error) reject(error);
        else resolve(response as Res);
      });
    });
  }

  /** A one-shot job due at `dueTime` (RFC 3339), `overwrite` false as daprd's Jobs API sends it. */
  scheduleJob(name: string, dueTime: string, data: AnyMessage, timeoutMs: number): Promise<object> {
    return this.unary(this.stub.ScheduleJob, { name, job: { due_time: dueTime, data }, metadata: this.metadata, overwrite: false }, timeoutMs);
  }

  deleteJob(name: string, timeoutMs: number): Promise<object> {
    return this.unary(this.stub.DeleteJob, { name, metadata: this.metadata }, timeoutMs);
  }

  async listJobCount(timeoutMs: number): Promise<number> {
    const response = await this.unary(this.stub.ListJobs, { metadata: this.metadata }, timeoutMs);
    return response.jobs?.length ?? 0;
  }

  watchJobs(): ClientDuplexStream<WatchJobsRequest, WatchJobsResponse> {
    return this.stub.WatchJobs();
  }

  close(): void {
    this.stub.close();
  }
}
