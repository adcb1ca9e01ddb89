import { ConsecutiveBreaker, circuitBreaker, handleWhen, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import { SchedulerError } from '../core/scheduler-error.js';

export interface EtcdConnection {
  readonly endpoints: readonly string[];
  readonly username?: string;
  readonly password?: string;
}

/** Unary etcd calls give up after this, so an outage answers UNAVAILABLE instead of hanging. */
const CALL_DEADLINE_MS = 5000;

/**
 * An etcd3 client for the scheduler. Unary calls get a deadline (watches
 * none); a host that failed three times in a row is retried after 1 s, not
 * etcd3's 5 s, so the scheduler resumes within a second of etcd returning.
 */
export function createEtcdClient(connection: EtcdConnection): Etcd3 {
  const options: IOptions = {
    hosts: [...connection.endpoints],
    dialTimeout: CALL_DEADLINE_MS,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2 }),
    },
    grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
  };
  if (connection.username) options.auth = { username: connection.username, password: connection.password ?? '' };
  return new Etcd3(options);
}

/**
 * Any failure talking to etcd as the scheduler's error: UNAVAILABLE for an
 * unreachable or overloaded etcd, RESOURCE_EXHAUSTED for a full one (etcd's
 * "database space exceeded"), never a crash.
 */
export function storeError(err: unknown, doing: string): SchedulerError {
  if (err instanceof SchedulerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/space exceeded|NOSPACE/i.test(message)) return new SchedulerError('resource_exhausted', `etcd is full while ${doing}: ${message}`, { cause: err });
  return new SchedulerError('unavailable', `etcd is unavailable while ${doing}: ${message}`, { cause: err });
}
