/** Time as timers see it: a clock tests can drive without sleeping. */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences matter). */
  now(): number;
  /** Calls `fn` once after `ms`, unless cancelled first. */
  setTimer(ms: number, fn: () => void): Timer;
}

export interface Timer {
  cancel(): void;
}

/**
 * Real time: `performance.now()` and unref'd `setTimeout`. A timer's
 * function runs after the I/O that arrived by its due time has been read
 * (a `setImmediate` from the timeout): Node runs due timers before it polls
 * sockets, so after a stall a deadline would otherwise judge acks that
 * arrived in time but were not read yet (at thousands of streams, every
 * stream of a round cut as a laggard at once).
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    let immediate: NodeJS.Immediate | undefined;
    const handle = setTimeout(() => {
      immediate = setImmediate(fn);
      immediate.unref();
    }, ms);
    handle.unref();
    return {
      cancel: () => {
        clearTimeout(handle);
        if (immediate) clearImmediate(immediate);
      },
    };
  },
};

interface PendingTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told. `advance(ms)` fires every timer that
 * falls due on the way, in due order, with `now()` set to each one's due
 * time while it runs.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const timer: PendingTimer = { due: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers armed and not yet fired or cancelled. */
  get pending(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }

  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((timer) => !timer.cancelled);
      const next = this.timers
        .filter((timer) => timer.due <= target)
        .sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.current = next.due;
      next.fn();
    }
    this.current = target;
  }
}
