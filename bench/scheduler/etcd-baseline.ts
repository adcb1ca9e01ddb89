import { Etcd3 } from 'etcd3';
import { runBounded } from './bounded-pool.js';
import type { Deadline } from './deadline.js';
import { jobName } from './job-plan.js';
import { ProcessSampler } from './process-sampler.js';
import { startEtcd } from './scheduler-processes.js';

/** Roughly what a stored one-shot job weighs (upstream's stored.Job with its api.Job and data). */
const VALUE_BYTES = 160;

export interface EtcdBaseline {
  readonly n: number;
  putMs: number;
  deleteMs: number;
  puts: number;
  deletes: number;
  errors: number;
  etcdCpuMs: number;
  etcdPeakMiB: number;
  etcdEndMiB: number;
  failure?: string;
}

/**
 * etcd's own cost for the scheduler's minimum writes: N puts of job-sized
 * values under job-like keys, then N deletes, through the etcd3 client
 * with the bench's concurrency, against a fresh etcd of its own. What any
 * etcd-backed scheduler must at least spend on storage for N one-shot jobs.
 */
export async function measureEtcdBaseline(n: number, apps: number, concurrency: number, fsync: boolean, deadline: Deadline): Promise<EtcdBaseline> {
  const result: EtcdBaseline = { n, putMs: NaN, deleteMs: NaN, puts: 0, deletes: 0, errors: 0, etcdCpuMs: NaN, etcdPeakMiB: NaN, etcdEndMiB: NaN };
  let etcd;
  try {
    etcd = await startEtcd(`baseline-${n}`, fsync);
  } catch (err) {
    result.failure = `etcd did not start: ${(err as Error).message}`;
    return result;
  }
  const sampler = new ProcessSampler(etcd.process.pid).start();
  const client = new Etcd3({ hosts: etcd.url });
  const key = (i: number): string => `dapr/jobs/app||bench||app-${i % apps}||${jobName(i)}`;
  const value = Buffer.alloc(VALUE_BYTES, 0x61);
  try {
    const cpu0 = sampler.read()?.cpuMs ?? NaN;
    let started = performance.now();
    await runBounded(
      n,
      concurrency,
      async (i) => {
        try {
          await client.put(key(i)).value(value).exec();
          result.puts++;
        } catch {
          result.errors++;
        }
      },
      () => deadline.passed || result.errors > 100,
    );
    result.putMs = performance.now() - started;
    started = performance.now();
    await runBounded(
      n,
      concurrency,
      async (i) => {
        try {
          await client.delete().key(key(i)).exec();
          result.deletes++;
        } catch {
          result.errors++;
        }
      },
      () => deadline.passed || result.errors > 100,
    );
    result.deleteMs = performance.now() - started;
    const end = sampler.read();
    result.etcdCpuMs = (end?.cpuMs ?? NaN) - cpu0;
    result.etcdEndMiB = end?.rssMiB ?? NaN;
    if (result.puts < n || result.deletes < n) result.failure = deadline.passed ? 'stopped at --timeout' : `${result.errors} etcd errors`;
  } finally {
    sampler.stop();
    result.etcdPeakMiB = sampler.peakMiB;
    client.close();
    await etcd.stop();
  }
  return result;
}
