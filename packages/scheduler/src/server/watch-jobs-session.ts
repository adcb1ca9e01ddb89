import type { ServerDuplexStream } from '@grpc/grpc-js';
import { errorMessage, type Logger } from '@tsdapr/runtime';
import { SchedulerError, grpcStatusOf } from '../core/scheduler-error.js';
import type { ConnectionPool, Trigger, TriggerOutcome, TriggerStream } from '../engine/connection-pool.js';
import type { SchedulerMetrics } from '../metrics.js';
import { authorize } from './authorize.js';
import { anyToProto, metadataToProto, type ProtoAny, type ProtoMetadata } from './proto-codec.js';

export interface WatchJobsRequest {
  readonly watch_job_request_type?: 'initial' | 'result';
  readonly initial?: {
    readonly app_id?: string;
    readonly namespace?: string;
    readonly actor_types?: readonly string[];
    readonly accept_job_types?: ReadonlyArray<string | number>;
  } | null;
  readonly result?: { readonly id?: string | number; readonly status?: string | number } | null;
}

export interface WatchJobsResponse {
  readonly name: string;
  readonly id: string;
  readonly data?: ProtoAny;
  readonly metadata: ProtoMetadata;
}

export interface WatchJobsSessionOptions {
  readonly call: ServerDuplexStream<WatchJobsRequest, WatchJobsResponse>;
  readonly pool: ConnectionPool;
  readonly metrics: SchedulerMetrics;
  readonly logger: Logger;
  readonly mtls: boolean;
  readonly shuttingDown: () => boolean;
}

const JOB = new Set(['JOB_TARGET_TYPE_JOB', 0, '0']);
const REMINDER = new Set(['JOB_TARGET_TYPE_ACTOR_REMINDER', 1, '1']);

/**
 * One WatchJobs stream (docs/scheduler.md, "WatchJobs"): the first message
 * must be `initial`; then triggers go out with per-stream ids from 1 and acks
 * come back in any order. When the stream ends, every trigger still in flight
 * is undeliverable and goes to another stream or waits for one.
 */
export function openWatchJobsSession(options: WatchJobsSessionOptions): () => void {
  const { call, pool, metrics } = options;
  let log = options.logger;
  let registered: TriggerStream | undefined;
  let nextId = 1n;
  const inFlight = new Map<string, (outcome: TriggerOutcome) => void>();
  let ended = false;

  const end = (error?: SchedulerError): void => {
    if (ended) return;
    ended = true;
    if (registered) {
      pool.unregister(registered);
      metrics.streamsConnected(-1);
    }
    for (const resolve of inFlight.values()) resolve('undeliverable');
    inFlight.clear();
    if (error) {
      log.debug({ code: error.code, reason: error.message }, 'WatchJobs stream closed');
      call.emit('error', { code: grpcStatusOf(error.code), details: error.message });
    } else {
      call.end();
    }
  };

  const start = (initial: NonNullable<WatchJobsRequest['initial']>): void => {
    const appId = initial.app_id ?? '';
    const namespace = initial.namespace ?? '';
    authorize(call, options.mtls, { appId, namespace });
    const accept = initial.accept_job_types ?? [];
    const seen = new Set<string>();
    for (const type of accept) {
      const name = JOB.has(type) ? 'JOB_TARGET_TYPE_JOB' : REMINDER.has(type) ? 'JOB_TARGET_TYPE_ACTOR_REMINDER' : String(type);
      if (seen.has(name)) throw new SchedulerError('invalid_argument', `duplicate target type specified: ${name}`);
      seen.add(name);
    }
    // Sidecars before 1.16 send no types: both.
    const acceptJobs = accept.length === 0 || seen.has('JOB_TARGET_TYPE_JOB');
    const actorTypes = [...new Set(initial.actor_types ?? [])].filter((type) => type !== '');
    const acceptReminders = (accept.length === 0 || seen.has('JOB_TARGET_TYPE_ACTOR_REMINDER')) && actorTypes.length > 0;
    if (accept.length > 0 && seen.has('JOB_TARGET_TYPE_ACTOR_REMINDER') && actorTypes.length === 0) {
      throw new SchedulerError('invalid_argument', 'accept_job_types includes JOB_TARGET_TYPE_ACTOR_REMINDER but actor_types is empty: name the actor types this sidecar hosts');
    }
    log = log.child({ appId, namespace, actorTypes });
    registered = {
      namespace,
      appId,
      actorTypes,
      acceptJobs,
      acceptReminders,
      deliver: (trigger) => deliver(trigger),
    };
    pool.register(registered);
    metrics.streamsConnected(1);
    log.debug('WatchJobs stream registered');
  };

  const deliver = (trigger: Trigger): Promise<TriggerOutcome> => {
    if (ended) return Promise.resolve('undeliverable');
    const id = String(nextId++);
    const outcome = new Promise<TriggerOutcome>((resolve) => inFlight.set(id, resolve));
    try {
      // A job without data sends none (not an empty Any), as upstream.
      call.write({ name: trigger.name, id, ...(trigger.data ? { data: anyToProto(trigger.data) } : {}), metadata: metadataToProto(trigger.metadata) });
    } catch (err) {
      metrics.sidecarError('send_failed');
      log.debug({ reason: errorMessage(err) }, 'sending a trigger failed');
      end();
    }
    return outcome;
  };

  call.on('data', (message: WatchJobsRequest) => {
    if (ended) return;
    try {
      if (!registered) {
        if (!message.initial) throw new SchedulerError('invalid_argument', 'initial request is required on stream connection');
        if (options.shuttingDown()) throw new SchedulerError('shutting_down', 'server is closing');
        start(message.initial);
        return;
      }
      const result = message.result;
      if (!result) return; // a second `initial` or an empty message: nothing to do
      const id = String(result.id ?? '');
      const resolve = inFlight.get(id);
      if (!resolve) {
        log.debug({ id }, 'ack for an unknown or already acked trigger id; ignored');
        return;
      }
      inFlight.delete(id);
      resolve(result.status === 'FAILED' || result.status === 1 ? 'failed' : 'success');
    } catch (err) {
      if (err instanceof SchedulerError && (err.code === 'permission_denied' || err.code === 'unauthenticated')) metrics.sidecarError('auth_failed');
      end(err instanceof SchedulerError ? err : new SchedulerError('internal', errorMessage(err), { cause: err }));
    }
  });
  call.on('end', () => end());
  call.on('cancelled', () => end());
  call.on('error', (err) => {
    if (ended) return;
    metrics.sidecarError('recv_failed');
    log.debug({ reason: errorMessage(err) }, 'WatchJobs stream error');
    end();
  });
  return () => end(new SchedulerError('shutting_down', 'server is closing'));
}
