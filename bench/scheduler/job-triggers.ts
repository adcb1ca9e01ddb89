/**
 * The scheduler under load, over the upstream gRPC protocol
 * (dapr.proto.scheduler.v1.Scheduler), against any scheduler: ours, started
 * here against an etcd started here (a fresh pair per N), or whatever
 * already listens at `--target host:port` (upstream's, say).
 *
 * For each N of `--jobs`, `--apps` simulated sidecars (one connection each,
 * `--streams` WatchJobs streams each, as daprd opens 3 per scheduler
 * address; app jobs only) connect in a namespace of their own; each app
 * schedules its share of N one-shot jobs (ScheduleJob, `due_time` RFC 3339,
 * overwrite false), at most `--concurrency` calls in flight, all due within
 * one `--spread` window (60 s) that starts about `--lead` (30 s) after the
 * scheduling is expected to end (a warm-up of jobs due in an hour, then
 * deleted, gives the rate). Each job's data carries its due instant, so
 * lateness = receive instant - due instant is exact. Every trigger is acked
 * SUCCESS. Reported: schedule throughput, lateness p50/p90/p99/max,
 * triggers received vs expected, duplicates, missing after `--grace`, jobs
 * left in the store (ListJobs), the scheduler's CPU (/proc/<pid>/stat) and
 * RSS (VmRSS sampled every 500 ms, VmHWM) when its pid is known (ours, or
 * `--target-pid`), etcd's when it was started here; then peak RSS of the
 * smallest and largest N side by side; then etcd's own cost of N puts and
 * N deletes (a fresh etcd) as the same-run reference. Everything is bounded
 * by `--timeout` (10 min), after which it reports what it has.
 *
 * Output: a table, details per N, a Markdown table for the README and one
 * `SCHEDULER_BENCH_JSON {...}` line with every figure.
 */
import { cpus } from 'node:os';
import { parseBenchOptions, USAGE, UsageError, type BenchOptions } from './cli-options.js';
import { Deadline } from './deadline.js';
import { measureEtcdBaseline, type EtcdBaseline } from './etcd-baseline.js';
import { markdownTable, printResults, rssRatio } from './report.js';
import { measureSize, type SizeResult } from './size-run.js';

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const deadline = new Deadline(options.timeoutMs);
  const results: SizeResult[] = [];
  const baselines: EtcdBaseline[] = [];
  console.log(
    `scheduler bench: ${options.target ? `target ${options.target}${options.targetPid ? ` (pid ${options.targetPid})` : ' (no --target-pid: no CPU/RSS)'}` : 'ours (packages/scheduler) + etcd 3.6.4, fresh per N'}; ` +
      `N = ${options.jobs.join(', ')}; ${options.apps} apps x ${options.streamsPerApp} streams; concurrency ${options.concurrency}; ` +
      `window ${options.spreadMs / 1000} s, lead ${options.leadMs / 1000} s, grace ${options.graceMs / 1000} s; timeout ${options.timeoutMs / 1000} s; ${cpus().length} cores, node ${process.version}`,
  );
  for (const n of options.jobs) {
    if (deadline.passed) break;
    const result = await measureSize(n, options, deadline);
    console.error(`[scheduler bench] N=${n}: ${(result.durationMs / 1000).toFixed(1)} s${result.failure ? ` (${result.failure.split('\n')[0]})` : ''}`);
    results.push(result);
    if (options.etcdBaseline && !deadline.passed) {
      const baseline = await measureEtcdBaseline(n, options.apps, options.concurrency, options.etcdFsync, deadline);
      baselines.push(baseline);
    }
  }
  if (deadline.passed) console.log(`--timeout of ${options.timeoutMs / 1000} s reached: reporting what was measured`);
  printResults(results, baselines);
  console.log('\nREADME table (Markdown):');
  console.log(markdownTable(results, baselines));
  const flat = rssRatio(results);
  console.log(
    `SCHEDULER_BENCH_JSON ${JSON.stringify({
      bench: 'scheduler',
      date: new Date().toISOString(),
      node: process.version,
      cores: cpus().length,
      options,
      results,
      rssPeakRatio: flat ? { smallN: flat.small.n, largeN: flat.large.n, ratio: flat.ratio } : null,
      etcdBaseline: baselines,
    })}`,
  );
  if (results.length < options.jobs.length || results.some((r) => r.failure || r.missing > 0 || r.received === 0)) process.exitCode = 1;
}

await main();
