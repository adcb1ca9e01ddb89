/**
 * A token bucket per stream. A v1.17 daprd sends three acks per round and a
 * REPORT when its actor types change, so even a namespace in heavy churn
 * stays far below the default rate; a stream above it is misbehaving.
 */
export interface FloodLimits {
  /** Messages allowed at once. */
  readonly burst: number;
  /** Messages per second refilled. */
  readonly perSecond: number;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = { burst: 200, perSecond: 50 };

export class FloodGuard {
  private tokens: number;
  private last: number | undefined;

  constructor(private readonly limits: FloodLimits) {
    this.tokens = limits.burst;
  }

  /** Takes one token at time `now` (ms); false when the stream is over its rate. */
  take(now: number): boolean {
    if (this.last !== undefined) this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.last) / 1000) * this.limits.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
