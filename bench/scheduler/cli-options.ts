/** The bench's flags, parsed and checked. Unknown flags are ignored: `pnpm bench` passes its arguments to every bench. */
export interface BenchOptions {
  /** host:port of a scheduler already running; undefined: start ours (and an etcd). */
  readonly target: string | undefined;
  /** The pid of the --target process, for its CPU and RSS. */
  readonly targetPid: number | undefined;
  readonly jobs: readonly number[];
  readonly apps: number;
  readonly streamsPerApp: number;
  readonly concurrency: number;
  /** Width of the due window, ms. */
  readonly spreadMs: number;
  /** From the expected end of scheduling to the window start, ms. */
  readonly leadMs: number;
  /** After the window end, how long missing triggers are waited for, ms. */
  readonly graceMs: number;
  /** The whole invocation, ms. */
  readonly timeoutMs: number;
  /** Jobs scheduled (and deleted) first, to warm up and estimate the rate; undefined: 2% of N, 200 to 2,000. */
  readonly warmup: number | undefined;
  readonly etcdBaseline: boolean;
  /** Run our etcd with fsync (default off, as the e2e harness runs it). */
  readonly etcdFsync: boolean;
}

export class UsageError extends Error {}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const value = (flag: string): string | undefined => {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === flag) return argv[i + 1];
      if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
    }
    return undefined;
  };
  const number = (flag: string, fallback: number, min: number, integer = true): number => {
    const text = value(flag);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new UsageError(`${flag} must be ${integer ? 'a whole number' : 'a number'} >= ${min}, got "${text}"`);
    return n;
  };
  const target = value('--target');
  if (target !== undefined && !/^(\[[0-9a-fA-F:]+\]|[^\s:/]+):\d{1,5}$/.test(target)) throw new UsageError(`--target must be host:port, got "${target}"`);
  const jobsText = value('--jobs') ?? '10000,100000';
  const jobs = jobsText.split(',').map((part) => {
    const n = Number(part.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new UsageError(`--jobs takes whole numbers from 1 to 1,000,000, comma-separated; got "${jobsText}"`);
    return n;
  });
  const warmupText = value('--warmup');
  return {
    target,
    targetPid: value('--target-pid') === undefined ? undefined : number('--target-pid', 0, 1),
    jobs,
    apps: number('--apps', 10, 1),
    streamsPerApp: number('--streams', 3, 1),
    concurrency: number('--concurrency', 64, 1),
    spreadMs: number('--spread', 60, 0.001, false) * 1000,
    leadMs: number('--lead', 30, 0, false) * 1000,
    graceMs: number('--grace', 30, 0, false) * 1000,
    timeoutMs: number('--timeout', 600, 1, false) * 1000,
    warmup: warmupText === undefined ? undefined : number('--warmup', 0, 0),
    etcdBaseline: !argv.includes('--no-etcd-baseline'),
    etcdFsync: argv.includes('--etcd-fsync'),
  };
}

/** Warm-up jobs for N: as given, else 2% of N between 200 and 2,000 (never more than N). */
export function warmupCount(options: Pick<BenchOptions, 'warmup'>, n: number): number {
  return options.warmup ?? Math.min(n, Math.max(200, Math.min(2000, Math.round(n * 0.02))));
}

export const USAGE = `Usage: node bench/dist/scheduler/job-triggers.js [--target host:port [--target-pid PID]]
    [--jobs 10000,100000] [--apps 10] [--streams 3] [--concurrency 64]
    [--spread 60] [--lead 30] [--grace 30] [--timeout 600] [--warmup N]
    [--no-etcd-baseline] [--etcd-fsync]       (times in seconds)`;
