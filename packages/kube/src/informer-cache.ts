import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import { sleep, type Logger, type Runner } from '@tsdapr/runtime';
import { KubeApiError } from './api-errors.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';

export type InformerEventType = 'add' | 'update' | 'delete';

export interface InformerEvent<T> {
  readonly type: InformerEventType;
  readonly object: T;
}

/** What client-node's `makeInformer` returns (a `ListWatch`); replaceable in tests. */
export type InformerFactory<T extends KubernetesObject> = (
  kubeConfig: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  labelSelector?: string,
) => Informer<T> & ObjectCache<T>;

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
  /** Restart backoff after a failed list or watch. Defaults: 500 ms doubling to 30 s. */
  readonly backoff?: BackoffOptions;
  /** Replaces client-node's `makeInformer`; for tests. */
  readonly makeInformer?: InformerFactory<T>;
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

/**
 * A cluster-wide (or label-selected) cache of one kind, built on client-node's
 * `makeInformer`/`ListWatch`.
 *
 * client-node's ListWatch re-lists on 410 Gone and re-watches when the server
 * closes a watch, but after any other error (apiserver down, 403, reset
 * connection) it calls its error handlers and stops for good. This wrapper
 * restarts it with exponential backoff; a restart resumes from the last
 * resourceVersion, and a too-old one comes back as 410 and triggers a re-list.
 *
 * Note: objects from the initial list are client-node models (dates as Date);
 * objects from watch events are plain JSON (dates as strings). Read only
 * metadata, spec and status fields that are strings, numbers or maps.
 */
export function createInformerCache<T extends KubernetesObject>(options: InformerCacheOptions<T>): InformerCache<T> {
  const logger = options.logger.child({ cache: options.name });
  const factory: InformerFactory<T> = options.makeInformer ?? makeInformer;
  const listeners = new Set<(event: InformerEvent<T>) => void>();
  const readyWaiters = new Set<() => void>();
  let listSignal: AbortSignal = AbortSignal.abort();
  let synced = false;
  let running = false;

  const informer = factory(options.kubeConfig, options.path, () => options.list(listSignal), options.labelSelector);

  const emit = (type: InformerEventType) => (object: T) => {
    for (const listener of listeners) {
      try {
        listener({ type, object });
      } catch (err) {
        logger.error({ err, event: type }, 'informer change listener failed');
      }
    }
  };
  informer.on('add', emit('add'));
  informer.on('update', emit('update'));
  informer.on('delete', emit('delete'));

  const markSynced = (): void => {
    if (synced) return;
    synced = true;
    logger.info({ objects: informer.list().length }, 'cache synced');
    for (const wake of readyWaiters) wake();
    readyWaiters.clear();
  };

  const runner: Runner = async (signal) => {
    if (running) throw new Error(`informer cache "${options.name}" is already running`);
    running = true;
    const stop = new AbortController();
    listSignal = AbortSignal.any([signal, stop.signal]);

    let failure: { err: unknown } | undefined;
    let wake: (() => void) | undefined;
    const onError = (err: unknown): void => {
      failure = { err };
      wake?.();
    };
    informer.on('error', onError);

    let attempt = 0;
    let starting: Promise<void> | undefined;
    try {
      while (!signal.aborted) {
        failure = undefined;
        try {
          starting = informer.start();
          await raceAbort(starting, signal);
        } catch (err) {
          // start() itself throws for configuration problems (no current cluster).
          failure = { err };
        }
        if (signal.aborted) break;
        if (!failure) {
          markSynced();
          attempt = 0;
          // Watching now. Wait for the watch to fail or for the signal.
          await new Promise<void>((resolve) => {
            const done = (): void => {
              signal.removeEventListener('abort', done);
              wake = undefined;
              resolve();
            };
            wake = done;
            if (failure || signal.aborted) done();
            else signal.addEventListener('abort', done, { once: true });
          });
          if (signal.aborted) break;
        }
        attempt += 1;
        const delayMs = backoffDelay(attempt, options.backoff);
        const err = KubeApiError.from(failure?.err, `list/watch ${options.path}`);
        logger.warn({ err, attempt, delayMs, hint: hintFor(err) }, 'informer failed; restarting');
        await sleep(delayMs, signal);
      }
    } finally {
      informer.off('error', onError);
      stop.abort();
      await informer.stop();
      // A start() cut short by the abort may still open a watch once its
      // request returns; stop again when it settles so that none lingers.
      if (starting) {
        const stopIfIdle = (): void => {
          if (!running) void informer.stop();
        };
        void starting.then(stopIfIdle, stopIfIdle);
      }
      running = false;
      synced = false;
    }
  };

  return {
    name: options.name,
    runner,
    ready: () => synced,
    waitUntilReady: (signal) => {
      if (synced) return Promise.resolve(true);
      if (signal?.aborted) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const onReady = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        };
        const onAbort = (): void => {
          readyWaiters.delete(onReady);
          resolve(false);
        };
        readyWaiters.add(onReady);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    get: (namespace, name) => informer.get(name, namespace),
    list: (namespace) => [...informer.list(namespace)],
    onChange: (cb) => {
      listeners.add(cb);
      return () => {
        listeners.delete(cb);
      };
    },
  };
}

/** Resolves with `promise`, or as soon as the signal aborts (leaving `promise` to settle on its own). */
async function raceAbort(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    // A start() still in flight after an abort must not surface as an unhandled rejection.
    promise.catch(() => undefined);
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
