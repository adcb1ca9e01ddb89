import type { ClientDuplexStream, StatusObject } from '@grpc/grpc-js';
import type { DeliveryTally } from './delivery-tally.js';
import { decodePayload } from './job-payload.js';
import { codeName, SchedulerConnection, type WatchJobsRequest, type WatchJobsResponse } from './scheduler-client.js';

/** Like daprd 1.17: a stream the server ends is opened again after 0.5 s. */
const RECONNECT_DELAY_MS = 500;
/** Bounded: a stream reopened this often stays closed (the run reports it). */
const MAX_REOPENS_PER_STREAM = 50;

export function appId(app: number): string {
  return `app-${app}`;
}

/**
 * `apps` simulated sidecars of one namespace, each with its own connection
 * holding `streamsPerApp` WatchJobs streams (daprd opens 3 per scheduler
 * address), all sending the same initial message: app jobs only, no actor
 * types. Every trigger is acked SUCCESS at once and recorded in the tally.
 */
export class SimulatedSidecars {
  readonly connections: SchedulerConnection[] = [];
  private readonly streams = new Set<ClientDuplexStream<WatchJobsRequest, WatchJobsResponse>>();
  private closing = false;
  /** Triggers per stream slot (app * streamsPerApp + stream), to see how deliveries spread. */
  readonly perStream: Uint32Array;
  /** Streams the server ended, by status code and message. */
  readonly ends = new Map<string, number>();
  reopens = 0;
  ackWriteFailures = 0;

  constructor(
    address: string,
    namespace: string,
    readonly apps: number,
    readonly streamsPerApp: number,
    private readonly tally: DeliveryTally,
  ) {
    for (let app = 0; app < apps; app++) this.connections.push(new SchedulerConnection(address, appId(app), namespace));
    this.perStream = new Uint32Array(apps * streamsPerApp);
  }

  open(): void {
    for (let app = 0; app < this.apps; app++) for (let s = 0; s < this.streamsPerApp; s++) this.openStream(app, s, 0);
  }

  private openStream(app: number, slot: number, reopened: number): void {
    const connection = this.connections[app]!;
    const stream = connection.watchJobs();
    this.streams.add(stream);
    let ended = false;
    const onEnd = (why: string): void => {
      if (ended) return;
      ended = true;
      this.streams.delete(stream);
      if (this.closing) return;
      this.ends.set(why, (this.ends.get(why) ?? 0) + 1);
      if (reopened >= MAX_REOPENS_PER_STREAM) return;
      setTimeout(() => {
        if (this.closing) return;
        this.reopens++;
        this.openStream(app, slot, reopened + 1);
      }, RECONNECT_DELAY_MS).unref();
    };
    stream.on('data', (trigger: WatchJobsResponse) => {
      const receivedAt = Date.now(); // the wall clock, as the scheduler reads it for due instants
      this.tally.record(decodePayload(trigger.data), trigger.name, app, receivedAt);
      this.perStream[app * this.streamsPerApp + slot]!++;
      try {
        stream.write({ result: { id: trigger.id, status: 'SUCCESS' } });
      } catch {
        this.ackWriteFailures++;
      }
    });
    stream.on('status', (s: StatusObject) => onEnd(`${codeName(s)}: ${s.details}`));
    stream.on('error', (error: Error & { code?: number; details?: string }) => onEnd(`${codeName(error)}: ${error.details ?? error.message}`));
    stream.on('end', () => onEnd('server ended the stream'));
    stream.write({ initial: { app_id: connection.appId, namespace: connection.namespace, actor_types: [], accept_job_types: ['JOB_TARGET_TYPE_JOB'] } });
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  close(): void {
    this.closing = true;
    for (const stream of this.streams) stream.cancel();
    this.streams.clear();
    for (const connection of this.connections) connection.close();
  }
}
