import { isConflict } from '@tsdapr/kube';
import { backoffDelay, type BackoffOptions } from '@tsdapr/kube';
import { errorCode, type Logger, type Runner } from '@tsdapr/runtime';

/** What one reconcile asks for next. */
export type ReconcileResult = { readonly requeueAfterMs?: number } | undefined;

export type Reconcile = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface WorkQueueOptions {
  readonly name: string;
  readonly reconcile: Reconcile;
  readonly workers: number;
  readonly logger: Logger;
  readonly backoff?: BackoffOptions;
  /** Delay of the quiet requeue after a 409 (someone else wrote first). */
  readonly conflictDelayMs?: number;
  readonly timers?: Timers;
  readonly onError?: (key: string, code: string) => void;
}

/**
 * Keys, not objects: a key added while queued is coalesced, a key being
 * reconciled is re-run once it finishes (never two workers on one key),
 * failures retry with exponential backoff per key, and a 409 conflict is a
 * quiet requeue. Level-triggered: reconcile reads the current state itself.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, unknown>();
  /** Idle workers: each add wakes one (a single slot would strand all but the last to wait). */
  private readonly idle: Array<() => void> = [];
  private readonly timers: Timers;

  constructor(private readonly options: WorkQueueOptions) {
    this.timers = options.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) };
  }

  add(key: string): void {
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.idle.shift()?.();
  }

  addAfter(key: string, ms: number): void {
    if (this.delayed.has(key)) return;
    this.delayed.set(
      key,
      this.timers.setTimeout(() => {
        this.delayed.delete(key);
        this.add(key);
      }, ms),
    );
  }

  get length(): number {
    return this.queue.length;
  }

  /** Runs the workers until the signal aborts. */
  readonly runner: Runner = async (signal) => {
    const worker = async (): Promise<void> => {
      while (!signal.aborted) {
        const key = this.queue.shift();
        if (key === undefined) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              signal.removeEventListener('abort', done);
              const at = this.idle.indexOf(done);
              if (at >= 0) this.idle.splice(at, 1);
              resolve();
            };
            this.idle.push(done);
            signal.addEventListener('abort', done, { once: true });
          });
          continue;
        }
        this.queued.delete(key);
        this.active.add(key);
        try {
          await this.process(key, signal);
        } finally {
          this.active.delete(key);
          if (this.dirty.delete(key)) this.add(key);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: this.options.workers }, () => worker()));
    } finally {
      for (const handle of this.delayed.values()) this.timers.clearTimeout(handle);
      this.delayed.clear();
    }
  };

  /** One reconcile of one key; exported behaviour for tests through `processOnce`. */
  async processOnce(key: string, signal: AbortSignal = new AbortController().signal): Promise<void> {
    this.queued.delete(key);
    await this.process(key, signal);
  }

  private async process(key: string, signal: AbortSignal): Promise<void> {
    const log = this.options.logger.child({ controller: this.options.name, key });
    try {
      const result = await this.options.reconcile(key, signal);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      if (isConflict(err)) {
        log.debug('conflict: requeueing');
        this.addAfter(key, this.options.conflictDelayMs ?? 100);
        return;
      }
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      const delayMs = backoffDelay(attempt, this.options.backoff);
      const code = errorCode(err);
      this.options.onError?.(key, code);
      log.error({ err, code, attempt, delayMs }, 'reconcile failed; retrying');
      this.addAfter(key, delayMs);
    }
  }
}
