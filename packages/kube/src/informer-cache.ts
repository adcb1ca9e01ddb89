import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { Latch, sleep, type Logger, type Runner } from '@tsdapr/runtime';
import { KubeApiError, isGone } from './api-errors.js';
import { backoffDelay, worthWarning, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock, type Timer } from './clock.js';
import { kubeWatchOpener, type WatchOpener } from './watch-stream.js';

export type InformerEventType = 'add' | 'update' | 'delete';

export interface InformerEvent<T> {
  readonly type: InformerEventType;
  readonly object: T;
}

/**
 * Why a watch request ended: the server closed it (its `timeoutSeconds` ran
 * out, or it restarted), its resourceVersion expired (410: re-list),
 * nothing arrived for the inactivity timeout (`stalled`), or it failed.
 */
export type WatchEndReason = 'closed' | 'expired' | 'stalled' | 'failed';

export interface InformerCacheOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** The collection URL path to watch, e.g. `/api/v1/pods` or `/apis/dapr.io/v1alpha1/configurations`. */
  readonly path: string;
  /**
   * Lists the same collection (typically a client-node `list...ForAllNamespaces`
   * call). The signal aborts when the cache stops; pass it on with `requestOptions`.
   */
  readonly list: (signal: AbortSignal) => Promise<KubernetesListObject<T>>;
  readonly logger: Logger;
  /** Names the cache in logs and readiness, e.g. `pods`. */
  readonly name: string;
  readonly labelSelector?: string;
  /**
   * Applied to every object from a list or a watch before it is cached and
   * reported (client-go's cache transform), e.g. `stripManagedFields` to keep
   * memory down when no reader needs those fields.
   */
  readonly transform?: (object: T) => T;
  /** Restart backoff after a failed list or watch. Defaults: 500 ms doubling to 30 s. */
  readonly backoff?: BackoffOptions;
  /**
   * Each watch request asks the server to end it after a random time between
   * this and twice this (client-go's 5–10 minutes), so no connection lives
   * long enough to go stale unnoticed and replicas do not re-watch in step.
   */
  readonly minWatchSeconds?: number;
  /**
   * A watch that delivered nothing, not even a bookmark, for this long is
   * treated as stalled and restarted from the last resourceVersion. The API
   * server sends a bookmark about once a minute on an idle watch (measured:
   * every 60 s from kube-apiserver 1.34), so a healthy watch never waits
   * this long. Default 90 s.
   */
  readonly inactivityTimeoutMs?: number;
  /** Told each time a watch request ends, with why; for metrics and tests. */
  readonly onWatchEnd?: (reason: WatchEndReason) => void;
  /** Opens the watch requests; defaults to one over the kubeconfig's cluster. For tests. */
  readonly openWatch?: WatchOpener;
  /** Times the inactivity watchdog; for tests. */
  readonly clock?: Clock;
  readonly random?: () => number;
}

export interface InformerCache<T extends KubernetesObject> {
  readonly name: string;
  /** Lists, then watches, until the signal aborts; restarts with backoff after failures. Never fails. */
  readonly runner: Runner;
  /** True once the first list has been stored (and stays true across later watch restarts). */
  ready(): boolean;
  /** Resolves true once ready, or false if the signal aborts first. */
  waitUntilReady(signal?: AbortSignal): Promise<boolean>;
  /** The cached object; use namespace `''` for cluster-scoped kinds. */
  get(namespace: string, name: string): T | undefined;
  /** Cached objects of one namespace, or of all when omitted. */
  list(namespace?: string): T[];
  /** Calls `cb` for every add, update and delete; returns an unsubscribe function. */
  onChange(cb: (event: InformerEvent<T>) => void): () => void;
}

const DEFAULT_MIN_WATCH_SECONDS = 300;
const DEFAULT_INACTIVITY_TIMEOUT_MS = 90_000;
/** The longest wait before retrying an API server that gave no HTTP answer, or 503. */
const UNREACHABLE_MAX_DELAY_MS = 2000;
/** A watch the server ends sooner than this without any event counts as a failure (backoff, no busy loop). */
const MIN_HEALTHY_WATCH_MS = 1000;

/**
 * A cluster-wide (or label-selected) cache of one kind: list, then watch
 * from the list's resourceVersion, forever.
 *
 * It does not trust a watch to tell when it died. client-node's watches are
 * known to stop silently (the connection stays open and nothing arrives
 * again, e.g. behind a proxy or after an API server restart), so:
 * - every watch asks for bookmarks, the API server's heartbeat on an idle
 *   watch, and for `timeoutSeconds` (5–10 min randomized, as client-go);
 * - a watchdog restarts a watch that delivered nothing for the inactivity
 *   timeout, from the last resourceVersion it saw;
 * - a watch that fails restarts with exponential backoff; a resourceVersion
 *   too old to resume (410 Gone) triggers a fresh list, whose differences
 *   with the cache are reported as add, update and delete events.
 *
 * Note: objects from a list are client-node models (dates as Date); objects
 * from watch events are plain JSON (dates as strings). Read only metadata,
 * spec and status fields that are strings, numbers or maps.
 */
export function createInformerCache<T extends KubernetesObject>(options: InformerCacheOptions<T>): InformerCache<T> {
  const logger = options.logger.child({ cache: options.name });
  const openWatch = options.openWatch ?? kubeWatchOpener(options.kubeConfig);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const minWatchSeconds = options.minWatchSeconds ?? DEFAULT_MIN_WATCH_SECONDS;
  const inactivityTimeoutMs = options.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_TIMEOUT_MS;
  const listeners = new Set<(event: InformerEvent<T>) => void>();
  /** namespace ('' for cluster-scoped) → name → object */
  const objects = new Map<string, Map<string, T>>();
  let resourceVersion = '';
  const synced = new Latch();
  let running = false;

  const emit = (type: InformerEventType, object: T): void => {
    for (const listener of listeners) {
      try {
        listener({ type, object });
      } catch (err) {
        logger.error({ err, event: type }, 'informer change listener failed');
      }
    }
  };

  const transform = options.transform ?? ((object: T): T => object);

  const put = (received: T): void => {
    const object = transform(received);
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    let inNamespace = objects.get(namespace);
    if (!inNamespace) objects.set(namespace, (inNamespace = new Map<string, T>()));
    const found = inNamespace.get(name);
    const version = object.metadata?.resourceVersion;
    if (found && version !== undefined && found.metadata?.resourceVersion === version) return;
    inNamespace.set(name, object);
    emit(found ? 'update' : 'add', object);
  };

  const remove = (namespace: string, name: string, object: T): void => {
    const inNamespace = objects.get(namespace);
    if (!inNamespace?.delete(name)) return;
    if (inNamespace.size === 0) objects.delete(namespace);
    emit('delete', object);
  };

  /** Replaces the cache with a fresh list, reporting only what changed. */
  const relist = async (signal: AbortSignal): Promise<void> => {
    const list = await untilSettledOrAborted(options.list(signal), signal);
    const listed = new Set(list.items.map((item) => `${item.metadata?.namespace ?? ''}/${item.metadata?.name ?? ''}`));
    for (const [namespace, inNamespace] of [...objects]) {
      for (const [name, object] of [...inNamespace]) {
        if (!listed.has(`${namespace}/${name}`)) remove(namespace, name, object);
      }
    }
    for (const item of list.items) put(item);
    resourceVersion = list.metadata?.resourceVersion ?? '';
  };

  const markSynced = (): void => {
    if (synced.isOpen) return;
    logger.info({ objects: objects.size === 0 ? 0 : [...objects.values()].reduce((sum, inNamespace) => sum + inNamespace.size, 0) }, 'cache synced');
    synced.open();
  };

  /** One watch request from `resourceVersion`; returns why it ended, throws when it failed. */
  const watchOnce = async (signal: AbortSignal): Promise<{ reason: Exclude<WatchEndReason, 'failed'>; healthy: boolean }> => {
    const controller = new AbortController();
    const watchSignal = AbortSignal.any([signal, controller.signal]);
    const timeoutSeconds = Math.floor(minWatchSeconds * (1 + random()));
    const query: Record<string, string> = { resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) };
    if (options.labelSelector !== undefined) query['labelSelector'] = options.labelSelector;

    let stalled = false;
    let expired = false;
    let serverError: KubeApiError | undefined;
    let received = 0;
    const openedAt = clock.now();
    let watchdog: Timer | undefined;
    const armWatchdog = (): void => {
      watchdog?.cancel();
      watchdog = clock.setTimer(inactivityTimeoutMs, () => {
        stalled = true;
        controller.abort();
      });
    };

    const onEvent = (type: string, object: unknown): void => {
      if (watchSignal.aborted) return;
      received += 1;
      armWatchdog();
      const item = object as T;
      switch (type) {
        case 'ADDED':
        case 'MODIFIED':
          put(item);
          break;
        case 'DELETED':
          remove(item.metadata?.namespace ?? '', item.metadata?.name ?? '', transform(item));
          break;
        case 'BOOKMARK':
          break;
        case 'ERROR': {
          // A Status object; 410 means the resourceVersion is too old to resume from.
          if (isGone({ statusCode: (object as { code?: unknown } | undefined)?.code })) expired = true;
          else serverError = KubeApiError.from({ statusCode: (object as { code?: unknown } | undefined)?.code, body: object }, `watch ${options.path}`);
          controller.abort();
          return;
        }
        default:
          logger.warn({ type }, 'unknown watch event type; ignored');
          return;
      }
      const version = item.metadata?.resourceVersion;
      if (version) resourceVersion = version;
    };

    armWatchdog();
    try {
      watchSignal.throwIfAborted();
      await openWatch(options.path, query, watchSignal, onEvent);
    } catch (err) {
      // Aborted by the watchdog, an ERROR event or shutdown: the reason is already known.
      if (!watchSignal.aborted) {
        if (isGone(err)) expired = true;
        else throw err;
      }
    } finally {
      watchdog?.cancel();
    }
    if (serverError) throw serverError;
    if (expired) return { reason: 'expired', healthy: true };
    if (stalled) {
      // Not necessarily a fault (a server that sends no bookmarks looks the
      // same), and the re-watch is cheap: logged at debug, counted by onWatchEnd.
      logger.debug({ resourceVersion, inactivityTimeoutMs, received }, 'nothing arrived on the watch, not even a bookmark; restarting it from the last resourceVersion');
      return { reason: 'stalled', healthy: true };
    }
    return { reason: 'closed', healthy: received > 0 || clock.now() - openedAt >= MIN_HEALTHY_WATCH_MS };
  };

  const runner: Runner = async (signal) => {
    if (running) throw new Error(`informer cache "${options.name}" is already running`);
    running = true;
    resourceVersion = '';
    let attempt = 0;
    try {
      while (!signal.aborted) {
        let failure: unknown;
        try {
          if (!resourceVersion) await relist(signal);
          markSynced();
          const { reason, healthy } = await watchOnce(signal);
          if (signal.aborted) break;
          options.onWatchEnd?.(reason);
          if (reason === 'expired') {
            logger.info({ resourceVersion }, 'watch resourceVersion expired; listing again');
            resourceVersion = '';
          }
          if (healthy) {
            attempt = 0;
            continue;
          }
          failure = new Error('the server ended the watch at once without an event');
        } catch (err) {
          if (signal.aborted) break;
          options.onWatchEnd?.('failed');
          failure = err;
        }
        attempt += 1;
        const err = KubeApiError.from(failure, `list/watch ${options.path}`);
        // No HTTP answer at all (refused, reset), or 503 (a starting API server
        // answers it until every CRD's path is installed): the server is
        // restarting or unreachable, a retry is cheap, and a long backoff would
        // notice its return many seconds late.
        const delayMs = err.status === undefined || err.status === 503 ? Math.min(backoffDelay(attempt, options.backoff), UNREACHABLE_MAX_DELAY_MS) : backoffDelay(attempt, options.backoff);
        const level = worthWarning(attempt) ? 'warn' : 'debug';
        logger[level]({ err, attempt, delayMs, hint: hintFor(err) }, 'informer failed; restarting');
        await sleep(delayMs, signal);
      }
    } finally {
      running = false;
      synced.close();
    }
  };

  return {
    name: options.name,
    runner,
    ready: () => synced.isOpen,
    waitUntilReady: (signal) => synced.wait(signal),
    get: (namespace, name) => objects.get(namespace)?.get(name),
    list: (namespace) => (namespace === undefined || namespace === '' ? [...objects.values()].flatMap((inNamespace) => [...inNamespace.values()]) : [...(objects.get(namespace)?.values() ?? [])]),
    onChange: (cb) => {
      listeners.add(cb);
      return () => {
        listeners.delete(cb);
      };
    },
  };
}

/** `promise`'s value, or an AbortError as soon as the signal aborts (a list that ignores its signal cannot hold up shutdown). */
async function untilSettledOrAborted<V>(promise: Promise<V>, signal: AbortSignal): Promise<V> {
  // Whatever the promise does after an abort must not surface as an unhandled rejection.
  promise.catch(() => undefined);
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        onAbort = () => reject(new DOMException('the informer cache stopped', 'AbortError'));
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function hintFor(err: KubeApiError): string | undefined {
  switch (err.code) {
    case 'kube_forbidden':
      return 'the service account lacks list/watch permission on this resource (check the ClusterRole)';
    case 'kube_not_found':
      return 'the resource type is not served (is its CRD installed?)';
    case 'kube_unauthorized':
      return 'the credentials were rejected (expired token or wrong kubeconfig?)';
    default:
      return undefined;
  }
}

/**
 * A cache transform that drops `metadata.managedFields` (server-side apply
 * bookkeeping: often the larger part of a workload's metadata, and read by
 * no controller here).
 */
export function stripManagedFields<T extends KubernetesObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _managedFields, ...metadata } = object.metadata;
  return { ...object, metadata };
}
