import type { Etcd3, Watcher } from 'etcd3';
import { errorMessage, settleWithin, sleep, unlessAborted, type Logger, type Runner } from '@tsdapr/runtime';
import { jobType, userNameOf } from '../core/job-names.js';
import { parseSchedule, type Schedule } from '../core/schedule.js';
import { afterOutcome } from '../core/ticks.js';
import type { SchedulerMetrics } from '../metrics.js';
import type { JobStore, LoadedJob } from '../store/job-store.js';
import { BUCKETS, dueKey, dueMsText, parseDueKey, type StateRecord } from '../store/records.js';
import { stagingPrefix, type ConnectionPool, type TriggerOutcome } from './connection-pool.js';
import { DueQueue, type DueEntry } from './due-queue.js';
import type { MembershipView } from './membership.js';

export interface TriggerEngineOptions {
  /** The engine's own etcd client, so a flood of API writes does not queue ahead of triggers. */
  readonly client: Etcd3;
  readonly store: JobStore;
  readonly pool: ConnectionPool;
  readonly metrics: SchedulerMetrics;
  readonly logger: Logger;
  /** Due-soon entries kept in memory at most (the rest wait in etcd). */
  readonly maxLoaded: number;
  readonly lookaheadMs: number;
  /** Triggers in flight at once. */
  readonly maxInFlight?: number;
  readonly now?: () => number;
}

export interface TriggerEngine {
  readonly runner: Runner;
  /** Ownership from membership: the buckets `index` owns among `members`, or none. */
  setView(view: MembershipView): void;
  /** True once the due index watch is up and the first scan of this ownership finished. */
  loaded(): boolean;
}

type WatchEvent = { readonly type: 'put' | 'delete'; readonly key: string };

/** How often the loader looks further ahead, and the safety-net rescan from the start. */
const LOAD_INTERVAL_MS = 250;
const REWIND_INTERVAL_MS = 60_000;
const PAGE = 1000;

/**
 * Fires due jobs of the buckets this replica owns (docs/adr/0008):
 * - the due index `due/<ms>/<bucket>/<name>` is read in time order, only as
 *   far ahead as `lookahead` and only `maxLoaded` entries at once, and a watch
 *   adds what is written behind the read cursor, so memory holds what is due
 *   soon, never every stored job;
 * - a due entry loads its job and state, is sent to a stream in rotation, and
 *   its outcome advances the state in one compare-and-swap transaction;
 * - a job no stream can take is staged until a stream with its prefix
 *   registers; one trigger per job is in flight at a time.
 */
export function createTriggerEngine(options: TriggerEngineOptions): TriggerEngine {
  const { client, store, pool, metrics, logger } = options;
  const now = options.now ?? Date.now;
  const maxInFlight = options.maxInFlight ?? 512;
  const duePrefix = `${store.prefix}due/`;
  const queue = new DueQueue();
  const inFlight = new Map<string, DueEntry>();
  /** Entries that came due while their job had a trigger in flight. */
  const deferred = new Map<string, DueEntry>();
  /** Staged jobs by the prefix they wait on. */
  const staged = new Map<string, Map<string, DueEntry>>();
  let stagedCount = 0;
  const schedules = new Map<string, Schedule>();

  let owned: ReadonlySet<number> | undefined;
  let generation = 0;
  /** Everything in the due index below this key has been read for this generation. */
  let cursor = duePrefix;
  let firstScanDone = false;
  let scanning = false;
  let buffered: WatchEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let wakeLoader: () => void = () => undefined;
  let lastRewind = 0;

  const isOwned = (bucket: number): boolean => owned?.has(bucket) ?? false;

  const reset = (): void => {
    generation++;
    queue.clear();
    deferred.clear();
    for (const [prefix, entries] of staged) {
      for (const [composed, entry] of entries) {
        if (!isOwned(entry.bucket)) {
          entries.delete(composed);
          stagedCount--;
        }
      }
      if (entries.size === 0) staged.delete(prefix);
    }
    metrics.staged(stagedCount);
    cursor = duePrefix;
    firstScanDone = false;
    wakeLoader();
  };

  const offer = (entry: DueEntry): void => {
    if (!isOwned(entry.bucket)) return;
    if (queue.push(entry)) {
      metrics.loaded(queue.size);
      arm();
    }
  };

  const applyEvent = (event: WatchEvent): void => {
    if (event.type === 'delete') {
      queue.remove(event.key);
      return;
    }
    if (event.key >= cursor) return; // the loader reads it when the cursor gets there
    const parsed = parseDueKey(store.prefix, event.key);
    if (parsed) offer({ key: event.key, ...parsed });
  };

  const onWatchEvent = (event: WatchEvent): void => {
    if (owned === undefined) return;
    if (scanning) buffered.push(event);
    else applyEvent(event);
  };

  const scanOnce = async (): Promise<void> => {
    if (owned === undefined || queue.size >= options.maxLoaded) return;
    const startGeneration = generation;
    if (now() - lastRewind > REWIND_INTERVAL_MS) {
      // Safety net: anything missed (a watch gap) is found again from the start.
      cursor = duePrefix;
      lastRewind = now();
    }
    const end = `${duePrefix}${dueMsText(now() + options.lookaheadMs + 1)}`;
    if (cursor >= end) {
      firstScanDone = true;
      return;
    }
    scanning = true;
    try {
      const limit = Math.min(PAGE, options.maxLoaded - queue.size);
      const page = await client.getAll().inRange({ start: cursor, end }).limit(limit).sort('Key', 'Ascend').exec();
      if (generation !== startGeneration) return;
      for (const kv of page.kvs) {
        const key = kv.key.toString('utf8');
        const parsed = parseDueKey(store.prefix, key);
        if (parsed) offer({ key, ...parsed });
      }
      const last = page.kvs[page.kvs.length - 1];
      cursor = page.more && last ? `${last.key.toString('utf8')}\0` : end;
      if (!page.more) firstScanDone = true;
    } finally {
      scanning = false;
      const replay = buffered;
      buffered = [];
      if (generation === startGeneration) for (const event of replay) applyEvent(event);
    }
  };

  const arm = (): void => {
    const top = queue.peek();
    if (!top) return;
    if (top.dueMs >= timerAt && timer) return;
    if (timer) clearTimeout(timer);
    timerAt = top.dueMs;
    timer = setTimeout(fireDue, Math.max(0, top.dueMs - now()));
  };

  const fireDue = (): void => {
    timer = undefined;
    timerAt = Infinity;
    while (inFlight.size < maxInFlight) {
      const entry = queue.popDue(now());
      if (!entry) break;
      start(entry);
    }
    metrics.loaded(queue.size);
    // Room freed in memory: read further ahead.
    if (queue.size < options.maxLoaded / 2) wakeLoader();
    if (inFlight.size < maxInFlight) arm();
  };

  const start = (entry: DueEntry): void => {
    const running = inFlight.get(entry.composed);
    if (running) {
      if (running.key !== entry.key) deferred.set(entry.composed, entry);
      return;
    }
    const waiting = staged.get(stagedPrefixOfComposed(entry.composed) ?? '')?.get(entry.composed);
    if (waiting?.key === entry.key) return;
    inFlight.set(entry.composed, entry);
    void fire(entry)
      .catch((err: unknown) => {
        logger.warn({ job: entry.composed, reason: errorMessage(err) }, 'trigger failed before its outcome was stored; it is due again');
        // etcd was unreachable: try again shortly (nothing was written, the due key is still there).
        setTimeout(() => offer(entry), 1000).unref();
      })
      .finally(() => {
        inFlight.delete(entry.composed);
        const next = deferred.get(entry.composed);
        if (next) {
          deferred.delete(entry.composed);
          offer(next);
        }
        // Room for another trigger: re-arm (fireDue stops arming while the in-flight limit is reached).
        if (timer === undefined) arm();
      });
  };

  const scheduleOf = (text: string | undefined): Schedule | undefined => {
    if (text === undefined) return undefined;
    let schedule = schedules.get(text);
    if (!schedule) {
      schedule = parseSchedule(text);
      if (schedules.size >= 1000) schedules.clear();
      schedules.set(text, schedule);
    }
    return schedule;
  };

  const fire = async (entry: DueEntry): Promise<void> => {
    const startGeneration = generation;
    const loaded = await store.load(entry.composed);
    if (!loaded || loaded.state.dueKey !== entry.key) {
      await store.deleteOrphan(entry.key, entry.composed);
      return;
    }
    if (startGeneration !== generation && !isOwned(entry.bucket)) return;
    const { job, state } = loaded;
    const type = jobType(job.metadata);
    let outcome: TriggerOutcome = 'undeliverable';
    let tried = 0;
    // An ended stream hands the trigger to the next one at once; without one, it waits (staging).
    while (outcome === 'undeliverable') {
      const stream = pool.pick(job.metadata);
      if (!stream || tried > 16) {
        metrics.triggered(type, 'undeliverable', undefined);
        stage(entry, loaded);
        return;
      }
      tried++;
      const sentAt = now();
      metrics.lateness(type, sentAt - state.dueMs);
      outcome = await stream.deliver({ name: userNameOf(entry.composed, job.metadata), composed: entry.composed, metadata: job.metadata, data: job.spec.data });
      metrics.triggered(type, outcome, outcome === 'undeliverable' ? undefined : now() - sentAt);
    }
    const next = afterOutcome(job.plan, scheduleOf(job.plan.schedule), job.failurePolicy, state, outcome);
    const nextRecord: StateRecord | undefined = next ? { ...next, uid: job.uid, dueKey: dueKey(store.prefix, next.dueMs, job.bucket, entry.composed) } : undefined;
    const result = await store.commit(entry.composed, loaded, nextRecord);
    if (result === 'stale') {
      metrics.staleOutcome(type);
      logger.debug({ job: entry.composed, outcome }, 'the job moved on while its trigger was in flight (overwritten, deleted or fired by another replica); outcome not stored');
      return;
    }
    // The watch would bring it too; offering it now saves a round trip for back-to-back ticks.
    if (nextRecord && nextRecord.dueKey < cursor) offer({ key: nextRecord.dueKey, dueMs: nextRecord.dueMs, bucket: job.bucket, composed: entry.composed });
  };

  const stage = (entry: DueEntry, loaded: LoadedJob): void => {
    const prefix = stagingPrefix(loaded.job.metadata);
    let entries = staged.get(prefix);
    if (!entries) staged.set(prefix, (entries = new Map<string, DueEntry>()));
    if (!entries.has(entry.composed)) {
      // Bounded: beyond the limit a staged job is simply left in etcd; a new stream's rescan finds it.
      if (stagedCount >= options.maxLoaded) return;
      stagedCount++;
    }
    entries.set(entry.composed, entry);
    metrics.staged(stagedCount);
  };

  pool.onPrefixesRegistered((prefixes) => {
    let released = 0;
    for (const prefix of prefixes) {
      const entries = staged.get(prefix);
      if (!entries) continue;
      staged.delete(prefix);
      stagedCount -= entries.size;
      for (const entry of entries.values()) {
        released++;
        offer(entry);
      }
    }
    metrics.staged(stagedCount);
    // Jobs staged beyond the limit are only in etcd: read the due index again from the start.
    lastRewind = 0;
    wakeLoader();
    if (released > 0) logger.debug({ prefixes, released }, 'released staged jobs to a new stream');
  });

  const runner: Runner = async (signal) => {
    let watcher: Watcher | undefined;
    while (!signal.aborted && !watcher) {
      try {
        watcher = await client.watch().prefix(duePrefix).create();
      } catch (err) {
        logger.warn({ reason: errorMessage(err) }, 'watching the due index failed; retrying');
        await sleep(1000, signal);
      }
    }
    if (!watcher) return;
    watcher.on('put', (kv) => onWatchEvent({ type: 'put', key: kv.key.toString('utf8') }));
    watcher.on('delete', (kv) => onWatchEvent({ type: 'delete', key: kv.key.toString('utf8') }));
    // After a reconnect (etcd restarted, or the watch fell behind a compaction) read everything again.
    watcher.on('connected', () => {
      lastRewind = 0;
      wakeLoader();
    });
    watcher.on('error', (err) => logger.warn({ reason: errorMessage(err) }, 'due index watch error; it reconnects'));
    const onAbort = (): void => wakeLoader();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        try {
          // A read in flight at shutdown is left to the closing client, not waited for.
          await unlessAborted(scanOnce(), signal);
        } catch (err) {
          logger.warn({ reason: errorMessage(err) }, 'reading due jobs from etcd failed; retrying');
          await sleep(1000, signal);
        }
        if (signal.aborted) break;
        if (firstScanDone || owned === undefined) {
          // Until the next interval, or sooner when ownership changes or memory frees up.
          await new Promise<void>((resolve) => {
            const wait = setTimeout(resolve, LOAD_INTERVAL_MS);
            wakeLoader = () => {
              clearTimeout(wait);
              resolve();
            };
          });
          wakeLoader = () => undefined;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      await settleWithin(watcher.cancel(), 1000);
    }
  };

  return {
    runner,
    loaded: () => owned !== undefined && firstScanDone,
    setView(view) {
      const next = view.agreed && view.index >= 0 ? ownedBuckets(view.index, view.members.length) : undefined;
      if (sameSet(next, owned)) return;
      owned = next;
      logger.info({ buckets: next?.size ?? 0, replicas: view.members.length, index: view.index }, next ? 'triggering the jobs of this replica\'s buckets' : 'not triggering jobs until the replicas agree');
      reset();
    },
  };
}

export function ownedBuckets(index: number, replicas: number): Set<number> {
  const out = new Set<number>();
  for (let bucket = 0; bucket < BUCKETS; bucket++) if (bucket % replicas === index) out.add(bucket);
  return out;
}

function sameSet(a: ReadonlySet<number> | undefined, b: ReadonlySet<number> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const value of a) if (!b.has(value)) return false;
  return true;
}

/** The staging prefix from a composed name (its first segments), without reading the job. */
function stagedPrefixOfComposed(composed: string): string | undefined {
  const parts = composed.split('||');
  if (parts[0] === 'app' && parts.length >= 4) return `app||${parts[1]}||${parts[2]}||`;
  if (parts[0] === 'actorreminder' && parts.length >= 5) return `actorreminder||${parts[1]}||${parts[2]}||`;
  return undefined;
}
