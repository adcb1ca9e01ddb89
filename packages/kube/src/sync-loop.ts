import { backoffDelay, type BackoffOptions } from './backoff.js';

/** What one sync reports: done, or its input (such as a CA bundle) is not known yet. */
export type SyncState = 'synced' | 'waiting';

export interface SyncLoopOptions {
  /** Reads the object(s) and writes only what differs. Throws to be retried with backoff. */
  readonly sync: (signal: AbortSignal) => Promise<SyncState>;
  /** Subscribes to changes of the input; returns an unsubscribe function. */
  readonly onChange?: (listener: () => void) => () => void;
  /** Told true after a sync that reached `synced`, false on a change or a failure. */
  readonly setReady?: (ready: boolean) => void;
  /** Called once per failed attempt, before waiting `delayMs`. */
  readonly onError: (err: unknown, attempt: number, delayMs: number) => void;
  /** Re-sync even without a change, so an object reset by hand is put back. Default 5 min. */
  readonly resyncMs?: number;
  /** Poll interval while `waiting`. Default 500 ms. */
  readonly waitingMs?: number;
  readonly backoff?: BackoffOptions;
}

/**
 * A level-triggered loop for one cluster-scoped object the process keeps
 * current (a webhook configuration's caBundle, a CRD's conversion client):
 * syncs at start, on every change of its input, periodically, and after a
 * failure with backoff. A change during a sync makes it run again.
 */
export function syncLoop(options: SyncLoopOptions): (signal: AbortSignal) => Promise<void> {
  return async (signal) => {
    let wake: (() => void) | undefined;
    let dirty = true;
    const unsubscribe = options.onChange?.(() => {
      dirty = true;
      options.setReady?.(false);
      wake?.();
    });
    let attempt = 0;
    try {
      while (!signal.aborted) {
        let delayMs = options.resyncMs ?? 300_000;
        if (dirty) {
          dirty = false;
          try {
            const state = await options.sync(signal);
            attempt = 0;
            options.setReady?.(state === 'synced');
            if (state === 'waiting') delayMs = options.waitingMs ?? 500;
          } catch (err) {
            if (signal.aborted) break;
            attempt += 1;
            delayMs = backoffDelay(attempt, options.backoff ?? { initialMs: 500, maxMs: 30_000 });
            options.setReady?.(false);
            options.onError(err, attempt, delayMs);
          }
        }
        // A change that arrived during the sync is handled without waiting.
        if (dirty && attempt === 0) continue;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            wake = undefined;
            resolve();
          };
          const timer = setTimeout(() => {
            dirty = true;
            done();
          }, delayMs);
          wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
      }
    } finally {
      unsubscribe?.();
    }
  };
}
