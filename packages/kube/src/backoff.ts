export interface BackoffOptions {
  /** Delay before the first retry. Default 500 ms. */
  readonly initialMs?: number;
  /** Upper bound. Default 30 s. */
  readonly maxMs?: number;
  /** Fraction of the delay added at random (0..1). Default 0.2. */
  readonly jitter?: number;
}

/**
 * Exponential backoff: `initial * 2^(attempt-1)`, capped at `max`, plus up to
 * `jitter` of itself at random so that many watchers do not retry in step.
 * `attempt` counts from 1. `random` is injectable for tests.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const jitter = options.jitter ?? 0.2;
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const base = Math.min(max, initial * 2 ** exponent);
  return Math.round(base + base * jitter * random());
}

/**
 * Whether the `attempt`-th failure in a row (counting from 1) is worth a
 * warning: the 1st, 2nd, 4th, 8th..., so that a state that lasts (an API
 * server down, a missing object) is reported without flooding the log.
 */
export const worthWarning = (attempt: number): boolean => attempt >= 1 && (attempt & (attempt - 1)) === 0;
