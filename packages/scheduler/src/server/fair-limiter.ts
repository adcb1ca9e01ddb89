/**
 * At most `perKey` operations in flight per key (an app), the rest queued in
 * order, so one app's flood of ScheduleJob calls waits behind itself and not
 * in front of every other app's calls.
 */
export class FairLimiter {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(private readonly perKey: number) {}

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    if ((this.running.get(key) ?? 0) >= this.perKey) {
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(key);
        if (queue) queue.push(resolve);
        else this.waiting.set(key, [resolve]);
      });
    } else {
      this.running.set(key, (this.running.get(key) ?? 0) + 1);
    }
    try {
      return await work();
    } finally {
      const queue = this.waiting.get(key);
      const next = queue?.shift();
      if (queue && queue.length === 0) this.waiting.delete(key);
      // The slot passes straight to the next waiter; otherwise it is freed.
      if (next) next();
      else {
        const left = (this.running.get(key) ?? 1) - 1;
        if (left > 0) this.running.set(key, left);
        else this.running.delete(key);
      }
    }
  }
}
