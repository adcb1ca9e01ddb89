import { setMaxListeners } from 'node:events';

/**
 * A long-lived part of a process: it works until the signal aborts, then
 * returns. Servers, watchers and controllers are all runners.
 */
export type Runner = (signal: AbortSignal) => Promise<void>;

/**
 * Runs every runner together. When one returns or fails, the rest are
 * aborted; resolves once all have returned. Rejects with the first real
 * failure (an AggregateError when several failed).
 */
export async function runAll(signal: AbortSignal, runners: readonly Runner[]): Promise<void> {
  const group = new AbortController();
  // Every runner listens to the group's signal, some in several places at
  // once (a sleep, a readiness wait): Node's leak warning at 11 listeners
  // fired for any group of a dozen runners (the operator's).
  setMaxListeners(Math.max(10, runners.length * 4), group.signal);
  const stop = (): void => group.abort();
  if (signal.aborted) stop();
  signal.addEventListener('abort', stop, { once: true });

  const failures: unknown[] = [];
  try {
    await Promise.all(
      runners.map(async (runner) => {
        try {
          await runner(group.signal);
        } catch (err) {
          if (!group.signal.aborted || !isAbortError(err)) failures.push(err);
        } finally {
          group.abort();
        }
      }),
    );
  } finally {
    signal.removeEventListener('abort', stop);
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} runners failed`);
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}

/** Resolves when the signal aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * `work`'s outcome, or undefined as soon as the signal aborts (the work is
 * then left to finish on its own). Unlike racing `untilAborted`, it leaves no
 * listener on the signal once `work` settles, so a loop can call it forever.
 */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Sleeps for `ms`, returning early (without throwing) if the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Waits for `work` to settle, but no longer than `ms`: for clean-up on the
 * way down (revoking a lease, cancelling a watch) whose peer may already be
 * gone, so shutdown stays bounded. Its failure is ignored.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.then(() => undefined, () => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
