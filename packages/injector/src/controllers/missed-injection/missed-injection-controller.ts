import { hostname } from 'node:os';
import { CoreV1Api, type CoreV1Event, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { KubeApiError, backoffDelay, createInformerCache, requestOptions, type InformerCache } from '@tsdapr/kube';
import { untilAborted, type Logger, type Runner } from '@tsdapr/runtime';
import type { InjectorMetrics } from '../../metrics.js';
import type { Pod } from '../../patch/pod-types.js';
import { MISSED_INJECTION_REASON, missedInjection, missedInjectionMessage } from './missed-injection.js';

export const CONTROLLER_NAME = 'missed-injection';
const REPORTING_COMPONENT = 'dapr-sidecar-injector';

/** Where the controller writes; replaceable in tests. */
export interface EventSink {
  create(namespace: string, event: CoreV1Event, signal: AbortSignal): Promise<void>;
}

export interface MissedInjectionControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: InjectorMetrics;
  readonly now?: () => Date;
  readonly events?: EventSink;
  /** For tests: a cache to read pods from instead of a cluster-wide informer. */
  readonly cache?: InformerCache<V1Pod>;
}

/**
 * Finds pods that asked for a sidecar but were created without one (the
 * webhook was down or unreachable; its failurePolicy is Ignore) and reports
 * each once, as a Warning Event on the pod and in a metric, so a missed
 * injection is never silent. Runs over a pod cache; `reconcile` is
 * level-triggered on `namespace/name` keys.
 */
export function missedInjectionController(options: MissedInjectionControllerOptions): { runner: Runner; reconcile: (key: string, signal: AbortSignal) => Promise<void> } {
  const logger = options.logger.child({ controller: CONTROLLER_NAME });
  const now = options.now ?? (() => new Date());
  let api: CoreV1Api | undefined;
  const core = (): CoreV1Api => (api ??= options.kubeConfig.makeApiClient(CoreV1Api));
  const events: EventSink = options.events ?? {
    create: async (namespace, body, signal) => {
      await core().createNamespacedEvent({ namespace, body }, requestOptions({ signal, timeoutMs: 10_000 }));
    },
  };
  const cache =
    options.cache ??
    createInformerCache<V1Pod>({
      kubeConfig: options.kubeConfig,
      name: 'pods',
      path: '/api/v1/pods',
      list: (signal) => core().listPodForAllNamespaces({}, requestOptions({ signal })),
      logger,
    });
  /** UIDs of pods already reported, so each is reported once per injector process. */
  const reported = new Set<string>();
  const instance = hostname();

  const reconcile = async (key: string, signal: AbortSignal): Promise<void> => {
    const [namespace = '', name = ''] = key.split('/');
    const pod = cache.get(namespace, name);
    if (!pod) return;
    const uid = pod.metadata?.uid ?? key;
    if (!missedInjection(pod as unknown as Pod)) {
      reported.delete(uid);
      return;
    }
    if (reported.has(uid)) return;
    const at = now();
    const message = missedInjectionMessage(pod as unknown as Pod);
    await events.create(
      namespace,
      {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace, name, uid },
        reason: MISSED_INJECTION_REASON,
        message,
        type: 'Warning',
        source: { component: REPORTING_COMPONENT },
        reportingComponent: REPORTING_COMPONENT,
        reportingInstance: instance,
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      },
      signal,
    );
    reported.add(uid);
    options.metrics.missedInjections.inc();
    logger.warn({ pod: key, appId: pod.metadata?.annotations?.['dapr.io/app-id'] }, 'pod was created without its daprd sidecar');
  };

  const runner: Runner = async (signal) => {
    const queue = new Set<string>();
    const attempts = new Map<string, number>();
    let wake: (() => void) | undefined;
    const enqueue = (key: string): void => {
      queue.add(key);
      wake?.();
    };
    const unsubscribe = cache.onChange((event) => {
      const key = `${event.object.metadata?.namespace ?? ''}/${event.object.metadata?.name ?? ''}`;
      if (event.type === 'delete') {
        reported.delete(event.object.metadata?.uid ?? key);
        options.metrics.missedInjectionsPending.set(reported.size);
        return;
      }
      enqueue(key);
    });
    const work = async (): Promise<void> => {
      if (!(await cache.waitUntilReady(signal))) return;
      for (const pod of cache.list()) enqueue(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`);
      while (!signal.aborted) {
        const next = queue.values().next();
        if (next.done) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              signal.removeEventListener('abort', done);
              wake = undefined;
              resolve();
            };
            wake = done;
            signal.addEventListener('abort', done, { once: true });
          });
          continue;
        }
        const key = next.value;
        queue.delete(key);
        try {
          await reconcile(key, signal);
          attempts.delete(key);
        } catch (err) {
          if (signal.aborted) break;
          const attempt = (attempts.get(key) ?? 0) + 1;
          attempts.set(key, attempt);
          const delayMs = backoffDelay(attempt, { initialMs: 1_000, maxMs: 60_000 });
          logger.error({ err: KubeApiError.from(err, `report missed injection of pod ${key}`), attempt, delayMs }, 'cannot report a missed injection; retrying');
          setTimeout(() => enqueue(key), delayMs).unref();
        }
        options.metrics.missedInjectionsPending.set(reported.size);
      }
    };
    try {
      await Promise.all([options.cache ? untilAborted(signal) : cache.runner(signal), work()]);
    } finally {
      unsubscribe();
    }
  };

  return { runner, reconcile };
}
