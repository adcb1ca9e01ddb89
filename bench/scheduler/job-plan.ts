/**
 * Which jobs a run schedules and when each is due: N one-shot jobs shared
 * out round-robin over the apps (job i belongs to app i mod apps), due
 * instants spread uniformly over one window, in an order unrelated to the
 * order they are scheduled in (a seeded shuffle, so a run is repeatable).
 */

export interface PlannedJob {
  readonly index: number;
  readonly name: string;
  readonly app: number;
  /** Offset of the due instant from the window start, ms (0 <= offset < windowMs). */
  readonly offsetMs: number;
}

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0..n-1 in a seeded random order (Fisher-Yates). */
export function shuffledRange(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** The name of job i: lower-case letters, digits and '-', valid under every upstream name rule. */
export function jobName(index: number): string {
  return `job-${String(index).padStart(7, '0')}`;
}

/**
 * N jobs over `apps` apps, the k-th earliest due at offset (k + 0.5) * windowMs / N
 * (slot centres: uniform, never two jobs at one instant when N <= windowMs),
 * rounded to whole ms; which job gets which slot is a seeded shuffle.
 */
export function planJobs(n: number, apps: number, windowMs: number, seed = 1): PlannedJob[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`job count must be a whole number >= 0, got ${n}`);
  if (!Number.isInteger(apps) || apps < 1) throw new Error(`app count must be a whole number >= 1, got ${apps}`);
  if (!(windowMs > 0)) throw new Error(`window must be > 0 ms, got ${windowMs}`);
  const slots = shuffledRange(n, seed);
  const jobs: PlannedJob[] = new Array<PlannedJob>(n);
  for (let i = 0; i < n; i++) {
    const offsetMs = Math.min(windowMs - 1, Math.floor(((slots[i]! + 0.5) * windowMs) / n));
    jobs[i] = { index: i, name: jobName(i), app: i % apps, offsetMs };
  }
  return jobs;
}

/** An RFC 3339 timestamp in UTC with milliseconds, as `due_time` accepts it. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * When the due window should start: after the scheduling is expected to end
 * (N at the warm-up rate, plus a margin for a rate that drops as the store
 * grows) and `leadMs` more, so every job is stored well before it is due.
 */
export function windowStartFor(now: number, jobs: number, jobsPerSecond: number, leadMs: number, margin = 1.1): number {
  const rate = jobsPerSecond > 0 && Number.isFinite(jobsPerSecond) ? jobsPerSecond : 1;
  return Math.round(now + (jobs / rate) * 1000 * margin + leadMs);
}
