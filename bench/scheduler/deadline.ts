/** The end of the whole invocation (`--timeout`): every wait and every call is bounded by it. */
export class Deadline {
  readonly at: number;

  constructor(ms: number, now = Date.now()) {
    this.at = now + ms;
  }

  remainingMs(now = Date.now()): number {
    return Math.max(0, this.at - now);
  }

  get passed(): boolean {
    return Date.now() >= this.at;
  }

  /** `ms`, or less when the deadline comes first. */
  cap(ms: number): number {
    return Math.min(ms, this.remainingMs());
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
