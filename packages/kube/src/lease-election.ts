import type { Logger, Runner } from '@tsdapr/runtime';
import type { Clock, Timer } from './clock.js';

/**
 * What a replica does with leadership. The election calls `onStartedLeading`
 * when this replica becomes the leader and `onStoppedLeading` when it stops
 * (lease lost, or shutdown); whatever only the leader may do starts and
 * stops with them.
 */
export interface LeadershipCallbacks {
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: (reason: string) => void;
}

/** The parts of a `coordination.k8s.io/v1` Lease spec the election reads and writes. */
export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: Date | undefined;
  readonly renewTime: Date | undefined;
  readonly leaseTransitions: number;
}

/** One Lease object. `create` and `update` throw a conflict when someone else wrote first. */
export interface LeaseApi {
  get(): Promise<{ readonly record: LeaseRecord; readonly resourceVersion: string } | undefined>;
  create(record: LeaseRecord): Promise<void>;
  update(record: LeaseRecord, resourceVersion: string): Promise<void>;
  /** Whether an error from create/update means "someone else wrote first". */
  isConflict(err: unknown): boolean;
}

export interface LeaseTimings {
  /** How long a holder's claim lasts after a follower last saw it change. */
  readonly leaseDurationMs: number;
  /** The leader steps down when it could not renew for this long (< leaseDuration). */
  readonly renewDeadlineMs: number;
  /** How often the leader renews and followers try. */
  readonly retryPeriodMs: number;
}

export interface LeaseElectionOptions extends LeadershipCallbacks {
  readonly api: LeaseApi;
  /** This replica's name in `holderIdentity` (upstream's `--id`, the pod name in the chart). */
  readonly identity: string;
  readonly timings: LeaseTimings;
  /** Monotonic time for every decision. */
  readonly clock: Clock;
  /** Wall time, only for the timestamps written into the Lease. */
  readonly wallClock?: () => Date;
  readonly random?: () => number;
  readonly logger: Logger;
}

/**
 * Leader election on a Lease, the way client-go's leaderelection does it:
 * a follower takes the Lease when its holder has not renewed it for a whole
 * lease duration *as this replica observed it* (local monotonic time, so
 * clock skew between nodes does not matter); the leader renews every retry
 * period and stops leading as soon as it has failed to renew for the renew
 * deadline, which is shorter than the lease duration, so two replicas never
 * serve at once. On shutdown the leader releases the Lease so a follower
 * takes over at its next try instead of after the lease duration.
 */
export function leaseElection(options: LeaseElectionOptions): Runner {
  const { api, identity, timings, clock, logger } = options;
  const wallClock = options.wallClock ?? (() => new Date());
  const random = options.random ?? Math.random;
  if (timings.renewDeadlineMs >= timings.leaseDurationMs) throw new Error('the renew deadline must be shorter than the lease duration');

  let leading = false;
  let deadline: Timer | undefined;
  let observed: { key: string; at: number } | undefined;

  const stopLeading = (reason: string): void => {
    deadline?.cancel();
    deadline = undefined;
    if (!leading) return;
    leading = false;
    logger.warn({ identity, reason }, 'stopped leading');
    options.onStoppedLeading(reason);
  };
  /** The Lease was written by a try that started at `startedAt`: the renew deadline runs from then. */
  const renewed = (startedAt: number): void => {
    deadline?.cancel();
    const left = timings.renewDeadlineMs - (clock.now() - startedAt);
    deadline = clock.setTimer(left, () => stopLeading(`could not renew the lease for ${timings.renewDeadlineMs}ms`));
    if (leading) return;
    leading = true;
    logger.info({ identity }, 'started leading');
    options.onStartedLeading();
  };

  /** One try: true when this replica holds the Lease afterwards. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = wallClock();
    const current = await api.get();
    const leaseDurationSeconds = Math.max(1, Math.ceil(timings.leaseDurationMs / 1000));
    if (!current) {
      try {
        await api.create({ holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 });
        return true;
      } catch (err) {
        if (api.isConflict(err)) return false;
        throw err;
      }
    }
    const { record } = current;
    const key = `${record.holderIdentity}|${record.renewTime?.getTime()}|${record.leaseTransitions}|${current.resourceVersion}`;
    if (observed?.key !== key) observed = { key, at: clock.now() };
    const mine = record.holderIdentity === identity;
    if (!mine && record.holderIdentity !== '') {
      if (leading) stopLeading(`the lease is held by ${record.holderIdentity}`);
      if (clock.now() < observed.at + record.leaseDurationSeconds * 1000) return false;
      logger.info({ identity, previous: record.holderIdentity }, 'lease expired; taking it over');
    }
    try {
      await api.update(
        {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: mine ? (record.acquireTime ?? now) : now,
          renewTime: now,
          leaseTransitions: mine ? record.leaseTransitions : record.leaseTransitions + 1,
        },
        current.resourceVersion,
      );
      return true;
    } catch (err) {
      if (api.isConflict(err)) return false;
      throw err;
    }
  };

  const release = async (): Promise<void> => {
    const current = await api.get();
    if (!current || current.record.holderIdentity !== identity) return;
    const now = wallClock();
    await api.update({ ...current.record, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now }, current.resourceVersion);
    logger.info({ identity }, 'lease released');
  };

  const wait = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = clock.setTimer(ms, done);
      function done(): void {
        timer.cancel();
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });

  return async (signal) => {
    logger.info({ identity, ...timings }, 'waiting for leadership');
    try {
      while (!signal.aborted) {
        const startedAt = clock.now();
        try {
          if ((await tryAcquireOrRenew()) && !signal.aborted) renewed(startedAt);
        } catch (err) {
          logger.warn({ err, identity }, 'lease election request failed');
        }
        // Followers spread their tries a little, as client-go's JitterUntil does.
        await wait(leading ? timings.retryPeriodMs : timings.retryPeriodMs * (1 + 0.2 * random()), signal);
      }
    } finally {
      const wasLeading = leading;
      stopLeading('shutting down');
      if (wasLeading) await release().catch((err: unknown) => logger.warn({ err, identity }, 'could not release the lease'));
    }
  };
}
