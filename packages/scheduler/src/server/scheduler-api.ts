import { randomBytes, randomInt } from 'node:crypto';
import { type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { errorMessage, type Logger } from '@tsdapr/runtime';
import type { JobMetadata } from '../core/job-model.js';
import { composeName, jobType, metadataPrefix, userNameOf, validateJobName } from '../core/job-names.js';
import { planJob } from '../core/job-plan.js';
import { parseSchedule } from '../core/schedule.js';
import { SchedulerError, grpcStatusOf } from '../core/scheduler-error.js';
import { firstTick } from '../core/ticks.js';
import type { ConnectionPool } from '../engine/connection-pool.js';
import type { Member } from '../engine/membership.js';
import type { JobTypeLabel, SchedulerMetrics } from '../metrics.js';
import type { JobStore } from '../store/job-store.js';
import { BUCKETS, dueKey, type JobRecord } from '../store/records.js';
import { authorize } from './authorize.js';
import { FairLimiter } from './fair-limiter.js';
import { jobFromProto, jobToProto, metadataFromProto, metadataToProto, type ProtoJob, type ProtoMetadata } from './proto-codec.js';
import { openWatchJobsSession, type WatchJobsRequest, type WatchJobsResponse } from './watch-jobs-session.js';

export interface SchedulerApiOptions {
  readonly store: JobStore;
  readonly pool: ConnectionPool;
  readonly metrics: SchedulerMetrics;
  readonly logger: Logger;
  readonly mtls: boolean;
  /** The replicas to announce: undefined until this replica has joined an agreed view. */
  readonly hosts: () => readonly Member[] | undefined;
  readonly onHostsChange: (listener: () => void) => () => void;
  readonly shuttingDown: () => boolean;
  readonly now?: () => number;
}

/** Unary calls in flight per app before its further calls queue. */
const PER_APP_IN_FLIGHT = 32;

/**
 * The eight RPCs of dapr.proto.scheduler.v1.Scheduler. Unary calls only read
 * and write etcd, so any replica answers them whatever it owns; WatchJobs
 * streams feed the trigger engine through the connection pool.
 */
export interface SchedulerApi {
  readonly implementation: UntypedServiceImplementation;
  /** Ends every open stream (shutdown), so the gRPC server drains at once. */
  closeStreams(): void;
}

export function schedulerApi(options: SchedulerApiOptions): SchedulerApi {
  const { store, metrics, logger } = options;
  const openStreams = new Set<() => void>();
  const now = options.now ?? Date.now;
  const limiter = new FairLimiter(PER_APP_IN_FLIGHT);

  function unary<Req, Res>(method: string, handle: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const request = call.request;
      const meta = (request as { metadata?: ProtoMetadata }).metadata;
      const key = `${meta?.namespace ?? ''}||${meta?.app_id ?? ''}`;
      limiter
        .run(key, () => handle(request, call))
        .then(
          (response) => callback(null, response),
          (err: unknown) => {
            const error = err instanceof SchedulerError ? err : new SchedulerError('internal', errorMessage(err), { cause: err });
            const level = error.code === 'unavailable' || error.code === 'internal' ? 'warn' : 'debug';
            logger[level]({ method, code: error.code, reason: error.message }, 'request refused');
            if (error.code === 'permission_denied' || error.code === 'unauthenticated') metrics.sidecarError('auth_failed');
            callback({ code: grpcStatusOf(error.code), details: error.message });
          },
        );
    };
  }

  const parseMetadata = (call: ServerUnaryCall<unknown, unknown>, proto: ProtoMetadata | null | undefined): JobMetadata => {
    // The identity check goes first: it needs only app id and namespace.
    authorize(call, options.mtls, { appId: proto?.app_id ?? '', namespace: proto?.namespace ?? '' });
    return metadataFromProto(proto);
  };

  const typeOf = (proto: ProtoMetadata | null | undefined): JobTypeLabel => (proto?.target?.actor ? 'actor' : proto?.target?.job ? 'job' : 'unknown');

  const implementation: UntypedServiceImplementation = {
    ScheduleJob: unary<{ name: string; job?: ProtoJob | null; metadata?: ProtoMetadata; overwrite: boolean }, object>('ScheduleJob', async (request, call) => {
      try {
        const metadata = parseMetadata(call, request.metadata);
        const composed = composeName(metadata, request.name);
        validateJobName(composed);
        if (!request.job) throw new SchedulerError('invalid_argument', 'job is required: ScheduleJobRequest.job is missing');
        const submitted = jobFromProto(request.job);
        const createdMs = now();
        const { plan, failurePolicy } = planJob(submitted, createdMs);
        const schedule = plan.schedule !== undefined ? parseSchedule(plan.schedule) : undefined;
        const record: JobRecord = {
          uid: randomBytes(8).toString('hex'),
          bucket: randomInt(BUCKETS),
          metadata,
          // The default policy is stored, so GetJob returns it as upstream does.
          spec: { ...submitted, failurePolicy },
          plan,
          failurePolicy,
        };
        const first = firstTick(plan, schedule);
        const state = first ? { ...first, uid: record.uid, dueKey: dueKey(store.prefix, first.dueMs, record.bucket, composed) } : undefined;
        await store.schedule(composed, record, state, request.overwrite);
        metrics.created(jobType(metadata));
        return {};
      } catch (err) {
        metrics.createFailed(typeOf(request.metadata));
        throw err;
      }
    }),

    GetJob: unary<{ name: string; metadata?: ProtoMetadata }, { job: ProtoJob }>('GetJob', async (request, call) => {
      const metadata = parseMetadata(call, request.metadata);
      const composed = composeName(metadata, request.name);
      validateJobName(composed);
      const job = await store.get(composed);
      if (!job) throw new SchedulerError('not_found', `job not found: ${request.name}`);
      return { job: jobToProto(job.spec) };
    }),

    DeleteJob: unary<{ name: string; metadata?: ProtoMetadata }, object>('DeleteJob', async (request, call) => {
      const metadata = parseMetadata(call, request.metadata);
      const composed = composeName(metadata, request.name);
      validateJobName(composed);
      await store.delete(composed);
      metrics.deleted(jobType(metadata));
      return {};
    }),

    ListJobs: unary<{ metadata?: ProtoMetadata }, { jobs: Array<{ name: string; metadata: ProtoMetadata; job: ProtoJob }> }>('ListJobs', async (request, call) => {
      const metadata = parseMetadata(call, request.metadata);
      const jobs = await store.list(metadataPrefix(metadata, { asPrefix: false }));
      return { jobs: jobs.map(({ composed, job }) => ({ name: userNameOf(composed, job.metadata), metadata: metadataToProto(job.metadata), job: jobToProto(job.spec) })) };
    }),

    DeleteByMetadata: unary<{ metadata?: ProtoMetadata; id_prefix_match?: boolean }, object>('DeleteByMetadata', async (request, call) => {
      const metadata = wrapMetadataError(() => parseMetadata(call, request.metadata));
      // An id prefix match on an empty actor id would also match other types
      // starting with the same text (upstream's quirk): only the exact type is deleted.
      const asPrefix = request.id_prefix_match === true && !(metadata.target.kind === 'actor' && metadata.target.id === '');
      await store.deleteByPrefixes([metadataPrefix(metadata, { asPrefix })]);
      metrics.bulkDeleted();
      return {};
    }),

    DeleteByNamePrefix: unary<{ name_prefix: string; metadata?: ProtoMetadata }, object>('DeleteByNamePrefix', async (request, call) => {
      const metadata = wrapMetadataError(() => parseMetadata(call, request.metadata));
      await store.deleteByPrefixes([`${metadataPrefix(metadata, { asPrefix: false })}${request.name_prefix}`]);
      metrics.bulkDeleted();
      return {};
    }),

    WatchJobs: (call: ServerDuplexStream<WatchJobsRequest, WatchJobsResponse>) => {
      const close = openWatchJobsSession({ call, pool: options.pool, metrics, logger, mtls: options.mtls, shuttingDown: options.shuttingDown });
      openStreams.add(close);
      call.on('close', () => openStreams.delete(close));
    },

    WatchHosts: (call: ServerWritableStream<object, { hosts: Array<{ address: string }> }>) => {
      let last = '';
      const send = (): void => {
        const hosts = options.hosts();
        if (!hosts) return;
        const text = JSON.stringify(hosts.map((host) => host.address));
        // daprd drops and reopens every stream on any further message: send only real changes.
        if (text === last) return;
        last = text;
        call.write({ hosts: hosts.map((host) => ({ address: host.address })) });
      };
      const unsubscribe = options.onHostsChange(send);
      const close = (): void => {
        unsubscribe();
        openStreams.delete(close);
      };
      const shutdown = (): void => {
        close();
        call.emit('error', { code: grpcStatusOf('shutting_down'), details: 'server is closing' });
      };
      openStreams.add(shutdown);
      call.on('cancelled', close);
      call.on('close', close);
      call.on('error', close);
      send();
    },
  };

  return {
    implementation,
    closeStreams() {
      for (const close of [...openStreams]) close();
      openStreams.clear();
    },
  };
}

/** Delete-by calls report an authorization failure as upstream words it. */
function wrapMetadataError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof SchedulerError) throw new SchedulerError(err.code, `failed to parse metadata: ${err.message}`, { cause: err });
    throw err;
  }
}

