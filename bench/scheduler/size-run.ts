import { loadavg } from 'node:os';
import { runBounded } from './bounded-pool.js';
import type { BenchOptions } from './cli-options.js';
import { warmupCount } from './cli-options.js';
import { sleep, type Deadline } from './deadline.js';
import { DeliveryTally } from './delivery-tally.js';
import { jobName, planJobs, rfc3339, windowStartFor } from './job-plan.js';
import { encodePayload } from './job-payload.js';
import { distribution, type Distribution } from './percentiles.js';
import { ProcessSampler, readProcess } from './process-sampler.js';
import { codeName, SchedulerConnection } from './scheduler-client.js';
import { logTail, startEtcd, startOurScheduler, type StartedEtcd, type StartedScheduler } from './scheduler-processes.js';
import { SimulatedSidecars } from './simulated-sidecars.js';

/** What daprd gives a Jobs API call. */
const CALL_TIMEOUT_MS = 30_000;
/** After the last expected trigger, how long later duplicates are still counted. */
const SETTLE_MS = 2000;
/** Streams get this long to register before the first job is scheduled. */
const STREAM_SETTLE_MS = 1000;
/** Without a warm-up the window is placed as if the scheduler stored this many jobs per second. */
const ASSUMED_RATE = 1000;
const PROGRESS_EVERY_MS = 15_000;

export interface ProcessFigures {
  /** VmRSS once ready, before any stream or job. */
  rssStartMiB: number;
  /** VmRSS at the window start: all N jobs stored, none due yet (what stored jobs cost). */
  rssStoredMiB: number;
  /** The higher of the sampled VmRSS and the kernel's VmHWM, over the whole run. */
  rssPeakMiB: number;
  /** VmRSS after the last trigger (and the settle time), before stopping. */
  rssEndMiB: number;
  cpu: CpuPhases;
  samples: number;
}

/** CPU time of a process per phase, ms. */
export interface CpuPhases {
  /** While the ScheduleJob calls ran. */
  schedule: number;
  /** From the end of scheduling to the window start: nothing is due (idle cost: timers, polling, leases). */
  lead: number;
  /** From the window start to the last trigger (and the settle time after it). */
  triggers: number;
}

/** CPU readings at the phase boundaries: before scheduling, after it, at the window start, at the end. */
function phases(marks: readonly number[]): CpuPhases {
  const [m0 = NaN, m1 = NaN, m2 = NaN, m3 = NaN] = marks;
  return { schedule: m1 - m0, lead: m2 - m1, triggers: m3 - m2 };
}

export interface SizeResult {
  readonly n: number;
  readonly implementation: string;
  namespace: string;
  warmup: { jobs: number; scheduleMs: number; jobsPerSecond: number; deleteMs: number };
  scheduled: number;
  scheduleErrors: Record<string, number>;
  firstScheduleError?: string;
  scheduleMs: number;
  jobsPerSecond: number;
  /** Jobs whose ScheduleJob returned after their due instant (their lateness is not the scheduler's alone). */
  scheduledAfterDue: number;
  /** From the end of scheduling to the first due instant of the window, ms (negative: the window started first). */
  windowLeadMs: number;
  spreadMs: number;
  lateness: Distribution;
  expected: number;
  received: number;
  duplicates: number;
  missing: number;
  early: number;
  unexpected: number;
  foreign: number;
  misrouted: number;
  missingExamples: string[];
  /** The last first delivery, relative to the window's end, ms. */
  lastTriggerAfterWindowMs: number;
  perStream: { min: number; max: number };
  streamEnds: Record<string, number>;
  reopens: number;
  /** ListJobs over every app at the end: one-shot jobs that fired must be gone. */
  leftInStore: number | string;
  scheduler?: ProcessFigures;
  etcd?: { rssPeakMiB: number; rssEndMiB: number; cpu: CpuPhases };
  /** This process's CPU (all sidecars and the load generator), ms. */
  benchCpuMs: number;
  loadAvg: number;
  durationMs: number;
  failure?: string;
}

function emptyResult(n: number, implementation: string, spreadMs: number): SizeResult {
  return {
    n,
    implementation,
    namespace: '',
    warmup: { jobs: 0, scheduleMs: NaN, jobsPerSecond: NaN, deleteMs: NaN },
    scheduled: 0,
    scheduleErrors: {},
    scheduleMs: NaN,
    jobsPerSecond: NaN,
    scheduledAfterDue: 0,
    windowLeadMs: NaN,
    spreadMs,
    lateness: distribution([]),
    expected: 0,
    received: 0,
    duplicates: 0,
    missing: 0,
    early: 0,
    unexpected: 0,
    foreign: 0,
    misrouted: 0,
    missingExamples: [],
    lastTriggerAfterWindowMs: NaN,
    perStream: { min: NaN, max: NaN },
    streamEnds: {},
    reopens: 0,
    leftInStore: '-',
    benchCpuMs: NaN,
    loadAvg: NaN,
    durationMs: NaN,
  };
}

const log = (message: string): void => {
  console.error(`[scheduler bench] ${message}`);
};

/**
 * One measurement of N jobs: against `--target`, or against a fresh etcd
 * and a fresh scheduler of ours started here (stopped, data removed, at the end).
 */
export async function measureSize(n: number, options: BenchOptions, deadline: Deadline): Promise<SizeResult> {
  const implementation = options.target ? `target ${options.target}` : 'tsdapr';
  const result = emptyResult(n, implementation, options.spreadMs);
  const startedAt = performance.now();
  const benchCpu = process.cpuUsage();
  let etcd: StartedEtcd | undefined;
  let scheduler: StartedScheduler | undefined;
  let address = options.target;
  let pid = options.targetPid;
  if (!address) {
    try {
      etcd = await startEtcd(String(n), options.etcdFsync);
      scheduler = await startOurScheduler(etcd.url, String(n));
      address = scheduler.address;
      pid = scheduler.process.pid;
    } catch (err) {
      result.failure = `could not start: ${(err as Error).message}`;
      await etcd?.stop();
      return result;
    }
  }
  const schedulerSampler = pid === undefined ? undefined : new ProcessSampler(pid).start();
  const etcdSampler = etcd ? new ProcessSampler(etcd.process.pid).start() : undefined;
  const rssStartMiB = schedulerSampler?.last?.rssMiB ?? NaN;
  const schedulerMarks: number[] = [];
  const etcdMarks: number[] = [];
  let rssStoredMiB = NaN;
  const markCpu = (): void => {
    schedulerMarks.push(schedulerSampler?.read()?.cpuMs ?? NaN);
    etcdMarks.push(etcdSampler?.read()?.cpuMs ?? NaN);
  };
  const exited = (): string | undefined => {
    if (scheduler?.process.hasExited()) return `our scheduler exited during the run (log: ${scheduler.logFile}):\n${logTail(scheduler.logFile, 20)}`;
    if (etcd?.process.hasExited()) return `etcd exited during the run (log: ${etcd.logFile})`;
    if (!scheduler && pid !== undefined && !readProcess(pid)) return `process ${pid} (--target-pid) is gone`;
    return undefined;
  };

  // A namespace of its own per measurement: against a long-running --target,
  // nothing from an earlier run can be delivered to this one's streams.
  const namespace = `bench-${Date.now().toString(36)}-${n}`;
  result.namespace = namespace;
  const tally = new DeliveryTally(n, options.apps);
  const sidecars = new SimulatedSidecars(address, namespace, options.apps, options.streamsPerApp, tally);
  const warmupConnection = new SchedulerConnection(address, 'warmup', namespace);
  let windowEnd = NaN;
  try {
    sidecars.open();
    await sleep(deadline.cap(STREAM_SETTLE_MS));

    // Warm-up: jobs of an app with no streams, due in an hour, then deleted.
    // Their rate places the due window after the real scheduling ends.
    const warmJobs = warmupCount(options, n);
    result.warmup.jobs = warmJobs;
    let rate = ASSUMED_RATE;
    if (warmJobs > 0) {
      const farDue = rfc3339(Date.now() + 3_600_000);
      let warmErrors = 0;
      let warmError = '';
      let t0 = performance.now();
      // The rate is taken over the second half: the first warms up connections and JIT.
      let done = 0;
      let halfAt = NaN;
      const half = Math.floor(warmJobs / 2);
      await runBounded(
        warmJobs,
        options.concurrency,
        async (i) => {
          try {
            await warmupConnection.scheduleJob(`warm-${i}`, farDue, encodePayload({ dueMs: 0, index: i }), deadline.cap(CALL_TIMEOUT_MS));
            if (++done === half) halfAt = performance.now();
          } catch (err) {
            warmErrors++;
            warmError ||= `${codeName(err as { code?: number })}: ${(err as Error).message}`;
          }
        },
        () => deadline.passed || warmErrors > 20,
      );
      result.warmup.scheduleMs = performance.now() - t0;
      if (warmErrors > 0) throw new Error(`warm-up ScheduleJob failed ${warmErrors} times, first: ${warmError}`);
      const tEnd = t0 + result.warmup.scheduleMs;
      rate = half > 0 && tEnd > halfAt ? ((warmJobs - half) / (tEnd - halfAt)) * 1000 : (warmJobs / result.warmup.scheduleMs) * 1000;
      result.warmup.jobsPerSecond = rate;
      t0 = performance.now();
      await runBounded(
        warmJobs,
        options.concurrency,
        async (i) => {
          try {
            await warmupConnection.deleteJob(`warm-${i}`, deadline.cap(CALL_TIMEOUT_MS));
          } catch (err) {
            warmErrors++;
            warmError ||= `${codeName(err as { code?: number })}: ${(err as Error).message}`;
          }
        },
        () => deadline.passed || warmErrors > 20,
      );
      result.warmup.deleteMs = performance.now() - t0;
      if (warmErrors > 0) throw new Error(`warm-up DeleteJob failed ${warmErrors} times, first: ${warmError}`);
    }

    // The measured scheduling.
    const windowStart = windowStartFor(Date.now(), n, rate, options.leadMs);
    windowEnd = windowStart + options.spreadMs;
    const jobs = planJobs(n, options.apps, options.spreadMs);
    log(`N=${n}: scheduling at ~${rate.toFixed(0)} jobs/s (warm-up), window starts in ${((windowStart - Date.now()) / 1000).toFixed(1)} s`);
    let errors = 0;
    markCpu();
    const t0 = performance.now();
    await runBounded(
      n,
      options.concurrency,
      async (i) => {
        const job = jobs[i]!;
        const dueMs = windowStart + job.offsetMs;
        tally.expect(i, dueMs);
        try {
          await sidecars.connections[job.app]!.scheduleJob(job.name, rfc3339(dueMs), encodePayload({ dueMs, index: i }), deadline.cap(CALL_TIMEOUT_MS));
          result.scheduled++;
          if (Date.now() > dueMs) result.scheduledAfterDue++;
        } catch (err) {
          tally.retract(i);
          errors++;
          const code = codeName(err as { code?: number });
          result.scheduleErrors[code] = (result.scheduleErrors[code] ?? 0) + 1;
          result.firstScheduleError ??= `${jobName(i)}: ${(err as Error).message}`;
        }
      },
      () => deadline.passed || errors >= 1000 || (errors >= 100 && result.scheduled === 0),
    );
    result.scheduleMs = performance.now() - t0;
    result.jobsPerSecond = (result.scheduled / result.scheduleMs) * 1000;
    result.windowLeadMs = windowStart - Date.now();
    markCpu();
    log(`N=${n}: ${result.scheduled} scheduled in ${(result.scheduleMs / 1000).toFixed(1)} s; window starts in ${(result.windowLeadMs / 1000).toFixed(1)} s`);

    // Triggers: until all expected arrived, the window's end plus the grace, or the deadline.
    let nextProgress = Date.now() + PROGRESS_EVERY_MS;
    let gone: string | undefined;
    while (!tally.complete && Date.now() < windowEnd + options.graceMs && !deadline.passed) {
      if (schedulerMarks.length === 2 && Date.now() >= windowStart) {
        markCpu();
        rssStoredMiB = schedulerSampler?.read()?.rssMiB ?? NaN;
      }
      gone = exited();
      if (gone) break;
      await sleep(Math.min(250, deadline.remainingMs()));
      if (Date.now() >= nextProgress) {
        nextProgress += PROGRESS_EVERY_MS;
        log(`N=${n}: ${tally.received}/${tally.expectedCount} triggers, ${sidecars.openStreams} streams open`);
      }
    }
    if (tally.complete && !gone) await sleep(deadline.cap(SETTLE_MS));
    if (gone) result.failure = gone;
    else if (deadline.passed) result.failure = 'stopped at --timeout';
    else if (result.scheduled < n) result.failure = `${n - result.scheduled} ScheduleJob calls failed or were not made`;
    if (!gone && !deadline.passed) {
      let left = 0;
      try {
        for (const connection of sidecars.connections) left += await connection.listJobCount(deadline.cap(10_000));
        result.leftInStore = left;
      } catch (err) {
        result.leftInStore = `ListJobs failed: ${codeName(err as { code?: number })}`;
      }
    }
  } catch (err) {
    result.failure = `${(err as Error).message}${exited() ? `; ${exited()}` : ''}`;
  } finally {
    sidecars.close();
    warmupConnection.close();
    while (schedulerMarks.length > 0 && schedulerMarks.length < 3) markCpu();
    const end = schedulerSampler?.read();
    const etcdEnd = etcdSampler?.read();
    if (schedulerMarks.length > 0) {
      schedulerMarks.push(end?.cpuMs ?? NaN);
      etcdMarks.push(etcdEnd?.cpuMs ?? NaN);
    }
    schedulerSampler?.stop();
    etcdSampler?.stop();
    if (schedulerSampler) {
      result.scheduler = {
        rssStartMiB,
        rssStoredMiB,
        rssPeakMiB: schedulerSampler.peakMiB,
        rssEndMiB: end?.rssMiB ?? NaN,
        cpu: phases(schedulerMarks),
        samples: schedulerSampler.sampleCount,
      };
    }
    if (etcdSampler) result.etcd = { rssPeakMiB: etcdSampler.peakMiB, rssEndMiB: etcdEnd?.rssMiB ?? NaN, cpu: phases(etcdMarks) };
    await scheduler?.stop();
    await etcd?.stop();
  }
  result.lateness = distribution(tally.lateness);
  result.expected = tally.expectedCount;
  result.received = tally.received;
  result.duplicates = tally.duplicates;
  result.missing = tally.missing;
  result.early = tally.early;
  result.unexpected = tally.unexpected;
  result.foreign = tally.foreign;
  result.misrouted = tally.misrouted;
  result.missingExamples = tally.missingIndices(5).map(jobName);
  result.lastTriggerAfterWindowMs = tally.lastReceivedAt - windowEnd;
  result.perStream = { min: Math.min(...sidecars.perStream), max: Math.max(...sidecars.perStream) };
  result.streamEnds = Object.fromEntries(sidecars.ends);
  result.reopens = sidecars.reopens;
  const used = process.cpuUsage(benchCpu);
  result.benchCpuMs = (used.user + used.system) / 1000;
  result.loadAvg = loadavg()[0] ?? NaN;
  result.durationMs = performance.now() - startedAt;
  return result;
}
