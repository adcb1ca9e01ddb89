import type { EtcdBaseline } from './etcd-baseline.js';
import type { SizeResult } from './size-run.js';

const fixed = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));
const seconds = (ms: number | undefined): string => fixed(ms === undefined ? undefined : ms / 1000, 1);
const count = (v: number): string => v.toLocaleString('en-US');

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** CPU of the scheduler per job (scheduling and triggering, not the idle lead time), µs. */
export function cpuPerJobUs(r: SizeResult): number {
  if (!r.scheduler || r.scheduled === 0) return NaN;
  return ((r.scheduler.cpu.schedule + r.scheduler.cpu.triggers) * 1000) / r.scheduled;
}

/** peak(large) / peak(small) for the first and last sizes measured, when both have one. */
export function rssRatio(results: readonly SizeResult[]): { small: SizeResult; large: SizeResult; ratio: number } | undefined {
  const withPeak = results.filter((r) => r.scheduler && Number.isFinite(r.scheduler.rssPeakMiB)).sort((a, b) => a.n - b.n);
  if (withPeak.length < 2) return undefined;
  const small = withPeak[0]!;
  const large = withPeak[withPeak.length - 1]!;
  return { small, large, ratio: large.scheduler!.rssPeakMiB / small.scheduler!.rssPeakMiB };
}

export function printResults(results: readonly SizeResult[], baselines: readonly EtcdBaseline[]): void {
  const header = ['scheduler', 'N', 'sched s', 'jobs/s', 'late p50', 'p90', 'p99', 'max ms', 'received', 'dup', 'missing', 'cpu sched s', 'idle s', 'trig s', 'cpu µs/job', 'RSS start', 'RSS stored', 'RSS peak', 'RSS end', 'etcd peak'];
  const rows = results.map((r) => [
    r.implementation,
    count(r.n),
    seconds(r.scheduleMs),
    fixed(r.jobsPerSecond, 0),
    fixed(r.lateness.p50),
    fixed(r.lateness.p90),
    fixed(r.lateness.p99),
    fixed(r.lateness.max),
    `${count(r.received)}/${count(r.expected)}`,
    count(r.duplicates),
    count(r.missing),
    seconds(r.scheduler?.cpu.schedule),
    seconds(r.scheduler?.cpu.lead),
    seconds(r.scheduler?.cpu.triggers),
    fixed(cpuPerJobUs(r), 0),
    fixed(r.scheduler?.rssStartMiB),
    fixed(r.scheduler?.rssStoredMiB),
    fixed(r.scheduler?.rssPeakMiB),
    fixed(r.scheduler?.rssEndMiB),
    fixed(r.etcd?.rssPeakMiB),
  ]);
  console.log(table(header, rows));
  for (const r of results) {
    const errors = Object.entries(r.scheduleErrors).map(([code, n]) => `${code} x${n}`).join(', ');
    const ends = Object.entries(r.streamEnds).map(([why, n]) => `${why} x${n}`).join('; ');
    console.log(
      `N=${count(r.n)}: warm-up ${r.warmup.jobs} jobs at ${fixed(r.warmup.jobsPerSecond, 0)}/s; window of ${seconds(r.spreadMs)} s started ${seconds(r.windowLeadMs)} s after scheduling ended` +
        `${r.scheduledAfterDue ? ` (${count(r.scheduledAfterDue)} jobs stored only after their due instant)` : ''}; last trigger ${seconds(r.lastTriggerAfterWindowMs)} s after the window; ` +
        `lateness min ${fixed(r.lateness.min)} ms; per stream ${r.perStream.min}..${r.perStream.max} triggers; left in store ${r.leftInStore}; ` +
        `etcd cpu sched/idle/trig ${seconds(r.etcd?.cpu.schedule)}/${seconds(r.etcd?.cpu.lead)}/${seconds(r.etcd?.cpu.triggers)} s; bench cpu ${seconds(r.benchCpuMs)} s; load ${fixed(r.loadAvg)}; ${seconds(r.durationMs)} s in all`,
    );
    if (errors) console.log(`N=${count(r.n)}: ScheduleJob errors: ${errors}; first: ${r.firstScheduleError}`);
    if (ends) console.log(`N=${count(r.n)}: streams ended by the server: ${ends} (reopened ${r.reopens} times)`);
    const odd = [r.early && `${r.early} before their due instant`, r.unexpected && `${r.unexpected} of jobs whose ScheduleJob failed`, r.foreign && `${r.foreign} foreign`, r.misrouted && `${r.misrouted} to another app's stream`].filter(Boolean);
    if (odd.length) console.log(`N=${count(r.n)}: triggers: ${odd.join(', ')}`);
    if (r.missing) console.log(`N=${count(r.n)}: ${count(r.missing)} never delivered, e.g. ${r.missingExamples.join(', ')}`);
    if (r.failure) console.log(`N=${count(r.n)}: FAILED: ${r.failure}`);
  }
  const flat = rssRatio(results);
  if (flat) {
    console.log(
      `RSS flatness: peak ${fixed(flat.small.scheduler!.rssPeakMiB)} MiB at N=${count(flat.small.n)} vs ${fixed(flat.large.scheduler!.rssPeakMiB)} MiB at N=${count(flat.large.n)}: ` +
        `x${fixed(flat.ratio, 2)} for x${fixed(flat.large.n / flat.small.n, 0)} the jobs (all stored, none due yet: ${fixed(flat.small.scheduler!.rssStoredMiB)} vs ${fixed(flat.large.scheduler!.rssStoredMiB)} MiB; ` +
        `end: ${fixed(flat.small.scheduler!.rssEndMiB)} vs ${fixed(flat.large.scheduler!.rssEndMiB)} MiB)`,
    );
  }
  console.log('baseline: pass --target to measure another implementation (e.g. upstream daprd 1.17 scheduler started by hand, with --target-pid for its CPU and RSS)');
  if (baselines.length) {
    console.log("same-run reference, etcd's own cost of the minimum writes (N puts of ~160 B + N deletes, etcd3 client, same concurrency, fresh etcd):");
    console.log(
      table(
        ['etcd raw', 'N', 'puts/s', 'deletes/s', 'total s', 'etcd cpu s', 'etcd cpu µs/job', 'etcd peak MiB'],
        baselines.map((b) => [
          b.failure ? `FAILED: ${b.failure}` : 'etcd 3.6.4',
          count(b.n),
          fixed((b.puts / b.putMs) * 1000, 0),
          fixed((b.deletes / b.deleteMs) * 1000, 0),
          seconds(b.putMs + b.deleteMs),
          seconds(b.etcdCpuMs),
          fixed((b.etcdCpuMs * 1000) / b.n, 0),
          fixed(b.etcdPeakMiB),
        ]),
      ),
    );
  }
  console.log(
    'Lateness = receive instant - the due instant the job carries (its data), first delivery of each job; all sidecars (apps x streams) are clients in this one ' +
      'Node process on the same cores, acking at once. CPU is the scheduler process alone (/proc/<pid>/stat): "sched" while ScheduleJob calls ran, "idle" from then ' +
      'to the window start (nothing due), "trig" from the window start to the last trigger; "cpu µs/job" is (sched + trig) / N. RSS: VmRSS once ready ("start"), at the window start with every job stored and none due ("stored"), the higher of the 500 ms samples and VmHWM ("peak"), VmRSS at the end.',
  );
}

/** A Markdown table of the figures, for the README. */
export function markdownTable(results: readonly SizeResult[], baselines: readonly EtcdBaseline[]): string {
  const lines = [
    '| scheduler | N | schedule | jobs/s | lateness p50 / p90 / p99 / max (ms) | delivered | dup | CPU/job | RSS stored / peak (end) | etcd RSS peak |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.implementation} | ${count(r.n)} | ${seconds(r.scheduleMs)} s | ${fixed(r.jobsPerSecond, 0)} | ${fixed(r.lateness.p50)} / ${fixed(r.lateness.p90)} / ${fixed(r.lateness.p99)} / ${fixed(r.lateness.max)} | ` +
        `${count(r.received)}/${count(r.expected)} | ${count(r.duplicates)} | ${fixed(cpuPerJobUs(r), 0)} µs | ${fixed(r.scheduler?.rssStoredMiB)} / ${fixed(r.scheduler?.rssPeakMiB)} (${fixed(r.scheduler?.rssEndMiB)}) MiB | ${fixed(r.etcd?.rssPeakMiB)} MiB |`,
    );
  }
  for (const b of baselines) {
    lines.push(`| etcd alone (N puts + N deletes) | ${count(b.n)} | ${seconds(b.putMs)} s | ${fixed((b.puts / b.putMs) * 1000, 0)} | - | - | - | ${fixed((b.etcdCpuMs * 1000) / b.n, 0)} µs (etcd) | - | ${fixed(b.etcdPeakMiB)} MiB |`);
  }
  return lines.join('\n');
}
