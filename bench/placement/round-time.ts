/**
 * Placement dissemination round time, in one run: our placement and
 * upstream's placement 1.17.5 (built from its Go module), each started as a
 * process on free 127.0.0.1 ports, standalone, plaintext, default flags
 * (`--disseminate-timeout` 8s, no coalesce window). For each size N it
 * starts a fresh process of each and connects N simulated sidecars in one
 * namespace, each with its own connection and one actor type (the same
 * type for all, so the table has one entry with N hosts), and measures:
 *   - join: all N connect at once; the time from the N-th sidecar's REPORT
 *     (flushed to its connection) until every sidecar has received UNLOCK
 *     of a table that holds all N hosts (and from the first connect);
 *   - leave: one sidecar closes its stream; the time until every remaining
 *     sidecar has received UNLOCK of a table without it;
 *   - rejoin: a new sidecar connects; the time from its REPORT until every
 *     sidecar (itself included) has received UNLOCK of a table with it;
 * leave and rejoin repeated `--churn` times (p50/p99); and the placement
 * process's CPU time per phase (/proc/<pid>/stat) and its RSS (VmRSS after
 * the join, VmHWM at the end).
 * The sidecars behave like daprd 1.17 (dapr/dapr:pkg/actors/internal/placement@v1.17.5): REPORT on connect (no
 * version, api_level 20) and never again (1.17 sends no heartbeats; the
 * server's keepalive pings are the liveness signal), ack lock/update/unlock
 * with the same operation and the round's version, close the stream on an
 * update older than the lock. They all live in this one process and speak
 * gRPC over `node:http2` directly (`h2-sidecar.ts`), so that their CPU, taken
 * from the placement under test on a 2-core machine, is only what a sidecar
 * must spend; only one sidecar decodes the tables (the observer, which
 * tells the round's version), the others read an order's operation and
 * version alone. `node --cpu-prof` on this script profiles our placement too.
 *
 * Usage: node bench/dist/placement/round-time.js [--sizes 100,1000] [--churn 10] [--impls tsdapr,upstream]
 */
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath, freePorts, pollUntil, repoRoot, startProcess, type ManagedProcess } from '@tsdapr/e2e-harness';
import { H2Sidecar, checkAckEncoding, type SidecarListener } from './h2-sidecar.js';

const argValue = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const sizes = (argValue('--sizes') ?? '100,1000').split(',').map(Number).filter((n) => n > 1);
const churnRounds = Number(argValue('--churn') ?? 10) || 10;
/** Which placements to measure: `tsdapr`, `upstream` or both (the default). */
const wanted = (argValue('--impls') ?? 'tsdapr,upstream').split(',');
const NAMESPACE = 'bench';
const ACTOR_TYPE = 'BenchActor';
/** Generous, growing with N: a slow placement should show as slow, not as a failure. */
const joinTimeoutMs = (n: number): number => 40_000 + 20 * n;
const roundTimeoutMs = (n: number): number => 15_000 + 5 * n;
const CONNECT_BATCH = 50;

type Impl = 'tsdapr' | 'upstream 1.17.5';

/** User + system CPU of a process in ms, from /proc (clock ticks are 100 Hz on Linux). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A `VmRSS`/`VmHWM` line of /proc/<pid>/status, in MiB. */
function memMiBOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`)) ?? '';
  return Number(line.replace(/\D+/g, '')) / 1024;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/**
 * What the sidecars of one run share: the round being waited for (the
 * observer names its version from the table of an update; a round is done
 * when every pending sidecar has received UNLOCK at that version or later).
 */
class Rounds implements SidecarListener {
  private waiting: { readonly predicate: (hosts: ReadonlySet<string>) => boolean; version: number | undefined; readonly pending: Set<H2Sidecar>; readonly resolve: (at: number) => void } | undefined;

  /** Resolves with the time the last of `pending` received the UNLOCK of a table for which `predicate` holds; rejects after `timeoutMs`. */
  wait(pending: Iterable<H2Sidecar>, predicate: (hosts: ReadonlySet<string>) => boolean, timeoutMs: number, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const left = this.waiting?.pending.size ?? 0;
        this.waiting = undefined;
        reject(new Error(`${what}: timed out after ${timeoutMs} ms (round version ${waiting.version ?? 'not seen'}, ${left} sidecars without its UNLOCK)`));
      }, timeoutMs);
      const waiting = {
        predicate,
        version: undefined as number | undefined,
        pending: new Set(pending),
        resolve: (at: number): void => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(at);
        },
      };
      this.waiting = waiting;
    });
  }

  /** From the observer: an update's version and the hosts of its table. */
  onUpdate(version: number, hosts: ReadonlySet<string>): void {
    const waiting = this.waiting;
    if (!waiting || waiting.version !== undefined || !waiting.predicate(hosts)) return;
    waiting.version = version;
    // Unlocks before the update are of older rounds; nothing to re-check.
  }

  onUnlock(sidecar: H2Sidecar, version: number, at: number): void {
    const waiting = this.waiting;
    if (!waiting || waiting.version === undefined || version < waiting.version) return;
    if (waiting.pending.delete(sidecar) && waiting.pending.size === 0) waiting.resolve(at);
  }

  /** Told about a stream the server ended (not one a sidecar closed itself). */
  onLost: (sidecar: H2Sidecar) => void = () => undefined;

  /** A pending sidecar whose stream ended will not unlock; its replacement (see `adopt`) will. */
  onEnd(sidecar: H2Sidecar): void {
    this.waiting?.pending.delete(sidecar);
    if (!sidecar.closedByUs) this.onLost(sidecar);
  }

  /** A sidecar that reconnected in place of a lost one: the round in progress waits for it too. */
  adopt(sidecar: H2Sidecar): void {
    this.waiting?.pending.add(sidecar);
  }
}

interface SizeResult {
  readonly impl: Impl;
  readonly n: number;
  /** From the N-th REPORT flushed, and from the first connect; undefined on failure. */
  joinMs?: number;
  joinFromFirstMs?: number;
  readonly leaveMs: number[];
  readonly rejoinMs: number[];
  joinCpuMs: number;
  churnCpuMs: number;
  /** CPU of this process (all the sidecars) over the churn rounds. */
  benchChurnCpuMs: number;
  rssAfterJoinMiB: number;
  peakRssMiB: number;
  /** The machine's 1-minute load average at the end (2 cores: above 2 means others wait for CPU too). */
  loadAvg: number;
  /** Sidecar streams the server ended (each then reconnected), and why (count by reason). */
  lost: number;
  lostReasons?: Record<string, number>;
  failure?: string;
}

async function startPlacement(impl: Impl, logFile: string): Promise<{ process: ManagedProcess; address: string }> {
  const [port, healthz, metrics] = (await freePorts(3)) as [number, number, number];
  const common = ['--port', String(port), '--listen-address', '127.0.0.1', '--healthz-port', String(healthz), '--healthz-listen-address', '127.0.0.1', '--metrics-port', String(metrics), '--metrics-listen-address', '127.0.0.1', '--tls-enabled=false', '--log-level', 'warn'];
  let child: ManagedProcess;
  if (impl === 'tsdapr') {
    // This process's Node flags go along, so `node --cpu-prof` profiles the server too.
    child = startProcess({ name: 'placement', command: process.execPath, args: [...process.execArgv, join(repoRoot(), 'packages/placement/dist/main.bundle.mjs'), ...common], logFile });
  } else {
    // A single raft node with in-memory stores elects itself within milliseconds.
    const [raft] = (await freePorts(1)) as [number];
    child = startProcess({ name: 'upstream placement', command: binaryPath('upstream-placement'), args: [...common, '--id', 'dapr-placement-0', '--initial-cluster', `dapr-placement-0=127.0.0.1:${raft}`, '--inmem-store-enabled'], logFile });
  }
  const address = `127.0.0.1:${port}`;
  // Ready = leader and serving: an actor-less sidecar in another namespace gets its lock/update/unlock burst.
  await pollUntil(
    `${impl} placement serving`,
    async () => {
      const rounds = new Rounds();
      const probe = new H2Sidecar({ address, index: -1, name: 'probe:1', id: 'probe', namespace: 'probe', actorType: ACTOR_TYPE, listener: rounds, observer: true });
      checkAckEncoding(probe, 'probe', 'probe');
      const unlocked = await new Promise<boolean>((resolve) => {
        const started = performance.now();
        const check = setInterval(() => {
          if (probe.phase !== 'UNLOCK' && performance.now() - started < 1000) return;
          clearInterval(check);
          resolve(probe.phase === 'UNLOCK');
        }, 10);
      });
      probe.close();
      return unlocked ? true : undefined;
    },
    { timeoutMs: 30_000 },
  );
  return { process: child, address };
}

async function measure(impl: Impl, n: number): Promise<SizeResult> {
  const logFile = join(tmpdir(), `placement-bench-${impl === 'tsdapr' ? 'tsdapr' : 'upstream'}-${n}.log`);
  const placement = await startPlacement(impl, logFile);
  const pid = placement.process.pid;
  const result: SizeResult = { impl, n, leaveMs: [], rejoinMs: [], joinCpuMs: NaN, churnCpuMs: NaN, benchChurnCpuMs: NaN, rssAfterJoinMiB: NaN, peakRssMiB: NaN, loadAvg: NaN, lost: 0 };
  const rounds = new Rounds();
  const sidecars: H2Sidecar[] = [];
  let next = 0;
  const sidecarAt = (i: number, observer: boolean): H2Sidecar =>
    new H2Sidecar({ address: placement.address, index: i, name: `10.0.${i >> 8}.${i & 255}:50002`, id: `app-${i}`, namespace: NAMESPACE, actorType: ACTOR_TYPE, listener: rounds, observer });
  const newSidecar = (observer = false): H2Sidecar => sidecarAt(next++, observer);
  // A daprd whose stream the server ends (a dissemination timeout, say)
  // reconnects and reports again; so do these, after a second, under the
  // same name. Each such loss is counted, with the server's reason.
  let measuring = true;
  const lostReasons: Record<string, number> = {};
  rounds.onLost = (lost) => {
    if (!measuring) return;
    const reason = lost.endReason ?? 'unknown';
    lostReasons[reason] = (lostReasons[reason] ?? 0) + 1;
    result.lost++;
    setTimeout(() => {
      const index = sidecars.indexOf(lost);
      if (!measuring || index < 0) return;
      const fresh = sidecarAt(lost.index, lost.observer);
      sidecars[index] = fresh;
      rounds.adopt(fresh);
    }, 1000);
  };
  try {
    // Join: N sidecars at once.
    let cpu = cpuMsOf(pid);
    const firstAt = performance.now();
    // In batches that yield to the event loop: thousands of connects in one
    // synchronous loop would leave the first connections' keepalive pings
    // unanswered for seconds (real sidecars are separate processes).
    for (let i = 0; i < n; i++) {
      sidecars.push(newSidecar(i === 0));
      if (i % CONNECT_BATCH === CONNECT_BATCH - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    const names = new Set(sidecars.map((s) => s.name));
    const joined = rounds.wait(sidecars, (hosts) => hosts.size === n && [...names].every((name) => hosts.has(name)), joinTimeoutMs(n), `join of ${n}`);
    const lastReportAt = Math.max(...(await Promise.all(sidecars.map((s) => s.whenReported()))));
    const doneAt = await joined;
    result.joinMs = doneAt - lastReportAt;
    result.joinFromFirstMs = doneAt - firstAt;
    result.joinCpuMs = cpuMsOf(pid) - cpu;
    result.rssAfterJoinMiB = memMiBOf(pid, 'VmRSS');

    // Churn: one leaves, a new one joins; repeated.
    cpu = cpuMsOf(pid);
    const benchCpu = process.cpuUsage();
    for (let r = 0; r < churnRounds; r++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const leaving = sidecars.splice(1 + (r % (sidecars.length - 1)), 1)[0]!;
      const left = rounds.wait(sidecars, (hosts) => hosts.size === sidecars.length && !hosts.has(leaving.name), roundTimeoutMs(n), `leave #${r + 1}`);
      const leftFrom = performance.now();
      leaving.close();
      result.leaveMs.push((await left) - leftFrom);

      await new Promise((resolve) => setTimeout(resolve, 100));
      const joining = newSidecar();
      sidecars.push(joining);
      const rejoined = rounds.wait(sidecars, (hosts) => hosts.size === sidecars.length && hosts.has(joining.name), roundTimeoutMs(n), `rejoin #${r + 1}`);
      const reportedAt = await joining.whenReported();
      result.rejoinMs.push((await rejoined) - reportedAt);
    }
    result.churnCpuMs = cpuMsOf(pid) - cpu;
    const benchUsed = process.cpuUsage(benchCpu);
    result.benchChurnCpuMs = (benchUsed.user + benchUsed.system) / 1000;
  } catch (err) {
    result.failure = `${(err as Error).message} (placement log: ${logFile})`;
  } finally {
    measuring = false;
    if (result.lost > 0) result.lostReasons = lostReasons;
    result.peakRssMiB = memMiBOf(pid, 'VmHWM');
    result.loadAvg = loadavg()[0] ?? NaN;
    await placement.process.stop();
    for (const sidecar of sidecars) sidecar.close();
  }
  return result;
}

function print(results: SizeResult[]): void {
  const ms = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(1));
  const rows = results.map((r) => [
    r.impl,
    String(r.n),
    ms(r.joinMs),
    ms(r.joinFromFirstMs),
    ms(percentile(r.leaveMs, 0.5)),
    ms(percentile(r.leaveMs, 0.99)),
    ms(percentile(r.rejoinMs, 0.5)),
    ms(percentile(r.rejoinMs, 0.99)),
    String(r.leaveMs.length + r.rejoinMs.length),
    ms(r.joinCpuMs),
    ms(r.churnCpuMs / Math.max(1, r.leaveMs.length + r.rejoinMs.length)),
    ms(r.benchChurnCpuMs / Math.max(1, r.leaveMs.length + r.rejoinMs.length)),
    ms(r.rssAfterJoinMiB),
    ms(r.peakRssMiB),
    String(r.lost),
    r.loadAvg.toFixed(1),
  ]);
  const header = ['placement', 'N', 'join ms', 'from 1st', 'leave p50', 'leave p99', 'rejoin p50', 'rejoin p99', 'rounds', 'join cpu ms', 'cpu ms/round', 'sidecars cpu/round', 'RSS MiB', 'peak MiB', 'lost', 'load'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  for (const r of results) if (r.failure) console.log(`${r.impl}, N=${r.n}: ${r.failure}`);
  for (const r of results) if (r.lostReasons) console.log(`${r.impl}, N=${r.n}: streams ended by the server: ${JSON.stringify(r.lostReasons)}`);
  for (const n of sizes) {
    const ours = results.find((r) => r.impl === 'tsdapr' && r.n === n);
    const theirs = results.find((r) => r.impl === 'upstream 1.17.5' && r.n === n);
    if (!ours || !theirs) continue;
    const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2));
    const cpuPerRound = (r: SizeResult): number => r.churnCpuMs / Math.max(1, r.leaveMs.length + r.rejoinMs.length);
    console.log(
      `ratio tsdapr/upstream, N=${n}: join ${ratio(ours.joinMs, theirs.joinMs)}x, leave p50 ${ratio(percentile(ours.leaveMs, 0.5), percentile(theirs.leaveMs, 0.5))}x, ` +
        `rejoin p50 ${ratio(percentile(ours.rejoinMs, 0.5), percentile(theirs.rejoinMs, 0.5))}x, join cpu ${ratio(ours.joinCpuMs, theirs.joinCpuMs)}x, ` +
        `cpu/round ${ratio(cpuPerRound(ours), cpuPerRound(theirs))}x, peak RSS ${ratio(ours.peakRssMiB, theirs.peakRssMiB)}x (lower is better)`,
    );
  }
  console.log(
    'All sidecars are clients in this one Node process on the same 2 cores (one decodes tables, the others read operation and version), so round times include their ack latency ' +
      '("sidecars cpu/round": this process\'s CPU per churn round); cpu and RSS are the placement process alone; ' +
      '"from 1st" counts from the first connect; "lost" counts sidecar streams the server ended; "load" is the 1-minute load average at the end (2 cores).',
  );
}

async function main(): Promise<void> {
  const results: SizeResult[] = [];
  const impls: Impl[] = [];
  if (wanted.includes('tsdapr')) impls.push('tsdapr');
  if (wanted.includes('upstream')) {
    try {
      binaryPath('upstream-placement');
      impls.push('upstream 1.17.5');
    } catch (err) {
      console.log(`upstream placement not measured: ${(err as Error).message}`);
    }
  }
  for (const n of sizes) {
    for (const impl of impls) {
      const started = performance.now();
      const result = await measure(impl, n);
      console.error(`${impl}, N=${n}: ${((performance.now() - started) / 1000).toFixed(1)} s${result.failure ? ` (${result.failure})` : ''}`);
      results.push(result);
    }
  }
  print(results);
  if (results.some((r) => r.failure)) process.exitCode = 1;
}

await main();
