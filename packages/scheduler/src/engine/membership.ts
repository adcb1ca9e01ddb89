import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { errorMessage, settleWithin, sleep, unlessAborted, type Logger, type Runner } from '@tsdapr/runtime';

export interface Member {
  readonly id: string;
  readonly address: string;
}

/**
 * The replicas as this one sees them. `agreed`: every replica has seen the
 * same count (each states the total it sees; work starts only when all totals
 * equal the number of replicas), so no two replicas own a bucket at once.
 */
export interface MembershipView {
  readonly members: readonly Member[];
  readonly agreed: boolean;
  /** This replica's place in `members` (sorted by id), -1 when not a member. */
  readonly index: number;
}

interface MemberRecord {
  readonly address: string;
  readonly uid: string;
  readonly total: number;
  /** Who holds the key: a restarted replica recognises its own dead predecessor by these. */
  readonly host?: string;
  readonly pid?: number;
}

/**
 * Whether a key held under our id was written by an earlier run of this
 * replica that is gone: same host (a pod keeps its hostname across container
 * restarts; locally, one host), another uid, and its process no longer runs
 * (or has our pid: a container's entrypoint is pid 1 every run). Then the key
 * is taken over at once instead of waiting out its lease.
 */
export function isDeadPredecessor(record: MemberRecord, self: { readonly uid: string; readonly host: string; readonly pid: number; readonly alive: (pid: number) => boolean }): boolean {
  if (record.uid === self.uid || record.host !== self.host || record.pid === undefined) return false;
  return record.pid === self.pid || !self.alive(record.pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but is not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface MembershipOptions {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly id: string;
  readonly address: string;
  readonly ttlMs: number;
  readonly logger: Logger;
  readonly onChange: (view: MembershipView) => void;
}

/**
 * Membership on etcd (docs/adr/0008): each replica holds `members/<id>` under
 * a lease it keeps alive; a replica that dies loses its key when the lease
 * expires and the others take over its buckets. Upstream's scheduler does the
 * same with `dapr/leadership/<id>` (diagridio/go-etcd-cron:internal/leadership).
 */
export function membership(options: MembershipOptions): Runner {
  const uid = randomBytes(8).toString('hex');
  const self = { uid, host: hostname(), pid: process.pid, alive: processAlive };
  const recordOf = (total: number): string => JSON.stringify({ address: options.address, uid, total, host: self.host, pid: self.pid } satisfies MemberRecord);
  const keyPrefix = `${options.prefix}members/`;
  const ownKey = `${keyPrefix}${options.id}`;
  const ttlSeconds = Math.max(2, Math.round(options.ttlMs / 1000));
  const log = options.logger;

  return async (signal) => {
    let records = new Map<string, MemberRecord>();
    let lease: Lease | undefined;
    let lastView = '';
    let statedTotal = -1;
    let writing: Promise<void> = Promise.resolve();

    const writeOwn = (total: number): Promise<void> => {
      statedTotal = total;
      writing = writing.then(async () => {
        if (!lease || signal.aborted) return;
        try {
          await lease.put(ownKey).value(recordOf(total)).exec();
        } catch (err) {
          log.warn({ reason: errorMessage(err) }, 'writing this replica\'s membership failed; retrying with the next change or lease renewal');
          statedTotal = -1;
        }
      });
      return writing;
    };

    const evaluate = (): void => {
      const ids = [...records.keys()].sort();
      const members = ids.map((id) => ({ id, address: records.get(id)?.address ?? '' }));
      const index = ids.indexOf(options.id);
      // A key of this id written by another live process (another uid) is not us: wait until it expires.
      const mine = records.get(options.id);
      const isUs = mine?.uid === uid;
      if (index >= 0 && isUs && statedTotal !== ids.length) void writeOwn(ids.length);
      const agreed = isUs && ids.every((id) => records.get(id)?.total === ids.length);
      const view: MembershipView = { members, agreed, index: isUs ? index : -1 };
      const key = JSON.stringify(view);
      if (key === lastView) return;
      lastView = key;
      log.info({ members: members.map((m) => m.id), agreed, index: view.index }, 'scheduler membership changed');
      options.onChange(view);
    };

    const join = async (): Promise<Lease> => {
      const granted = options.client.lease(ttlSeconds, { autoKeepAlive: true });
      await granted.grant();
      // Create only if absent: a live process with our id (a replica not yet gone) keeps its key.
      for (;;) {
        const result = await options.client
          .if(ownKey, 'Create', '==', 0)
          .then(granted.put(ownKey).value(recordOf(0)))
          .else(options.client.get(ownKey))
          .commit();
        if (result.succeeded) return granted;
        const held = result.responses[0]?.response_range.kvs[0];
        if (held && isDeadPredecessor(JSON.parse(held.value.toString('utf8')) as MemberRecord, self)) {
          // Replace it only if it is still that record: a racing live writer wins.
          const taken = await options.client.if(ownKey, 'Mod', '==', held.mod_revision).then(granted.put(ownKey).value(recordOf(0))).commit();
          if (taken.succeeded) {
            log.info({ id: options.id }, 'took over the membership key of this replica\'s previous run, which is gone');
            return granted;
          }
        }
        log.warn({ id: options.id }, 'another live replica holds this replica id; waiting for its lease to expire');
        await sleep(1000, signal);
        if (signal.aborted) return granted;
      }
    };

    while (!signal.aborted) {
      let watcher: Watcher | undefined;
      try {
        lease = await join();
        statedTotal = 0;
        const lost = new Promise<void>((resolve) => lease?.once('lost', () => resolve()));
        const snapshot = await options.client.getAll().prefix(keyPrefix).exec();
        records = new Map(snapshot.kvs.map((kv) => [kv.key.toString('utf8').slice(keyPrefix.length), JSON.parse(kv.value.toString('utf8')) as MemberRecord]));
        watcher = await options.client
          .watch()
          .prefix(keyPrefix)
          .startRevision(String(BigInt(snapshot.header.revision) + 1n))
          .create();
        watcher.on('put', (kv) => {
          records.set(kv.key.toString('utf8').slice(keyPrefix.length), JSON.parse(kv.value.toString('utf8')) as MemberRecord);
          evaluate();
        });
        watcher.on('delete', (kv) => {
          records.delete(kv.key.toString('utf8').slice(keyPrefix.length));
          evaluate();
        });
        evaluate();
        await unlessAborted(lost, signal);
        if (!signal.aborted) log.warn('membership lease lost (etcd unreachable for longer than the TTL); rejoining');
      } catch (err) {
        if (!signal.aborted) log.warn({ reason: errorMessage(err) }, 'joining the scheduler replicas failed; retrying');
      } finally {
        // Bounded: on shutdown etcd (embedded, stopping too) may already be gone.
        if (watcher) await settleWithin(watcher.cancel(), 1000);
        const ending = lease;
        lease = undefined;
        records = new Map();
        evaluate();
        // On shutdown, give the key up at once so the others take over without waiting for the TTL.
        if (ending && signal.aborted) await settleWithin(ending.revoke(), 1000);
        else ending?.release();
      }
      if (!signal.aborted) await sleep(500, signal);
    }
  };
}
