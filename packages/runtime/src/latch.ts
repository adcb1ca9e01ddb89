/**
 * A gate that is shut until `open()`: `wait` resolves true once it is open,
 * or false if the signal aborts first. `close()` shuts it again for later
 * waiters (a cache that stops and will list afresh). For the
 * `waitUntilReady` of caches and file sources.
 */
export class Latch {
  private opened = false;
  private readonly waiters = new Set<() => void>();

  get isOpen(): boolean {
    return this.opened;
  }

  open(): void {
    if (this.opened) return;
    this.opened = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  close(): void {
    this.opened = false;
  }

  wait(signal?: AbortSignal): Promise<boolean> {
    if (this.opened) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onOpen = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = (): void => {
        this.waiters.delete(onOpen);
        resolve(false);
      };
      this.waiters.add(onOpen);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
