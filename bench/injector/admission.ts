#!/usr/bin/env node
/**
 * Admission benchmark (issue 4 "Speed", issue 8 "Side by side"): the same
 * AdmissionReviews (a typical pod, and one with 1,000 env vars) over HTTPS on
 * loopback, from one load generator, to
 *   - a trivial allow-everything handler and our admission handler, on one
 *     Node HTTPS server (the same-server baseline, baseline-server.ts);
 *   - our injector and upstream's 1.17.5, each the real service as a process
 *     against a real kube-apiserver, serving its Sentry-issued SVID
 *     (injector-processes.ts). Skipped with --no-cluster.
 * Every server is its own process, so the generator's CPU and GC stay out of
 * its latency, and the CPU a server spends per request is read from /proc.
 *
 * Latency: a fixed rate (--rate, 500 req/s as the target), after a
 * warm-up on the same keep-alive connections; --repeats runs of --seconds
 * each, interleaved across targets so a burst of load elsewhere on the machine
 * hits them alike; the figure is the median over the runs (min–max shown).
 * Throughput: a closed loop of --concurrency workers for --loop-seconds after
 * each paced run, median of runs.
 *
 *   node bench/dist/injector/admission.js [--rate 500] [--seconds 4] [--repeats 5] [--warmup 1] [--concurrency 32] [--loop-seconds 2] [--no-cluster]
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '@tsdapr/e2e-harness';
import { closedLoop, cpuMsOf, keepAliveAgent, median, paced, percentile, verifyAnswer, post, type AdmissionTarget } from './admission-load.js';
import type { BaselineServerReady } from './baseline-server.js';
import { startInjectorProcesses } from './injector-processes.js';

/** Send lag (p99) beyond which a run's latencies reflect the machine's load more than the servers. */
const CONTENDED_LAG_MS = 5;
const REQUEST_UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

interface Pod {
  readonly name: string;
  readonly envCount: number;
}

const PODS: readonly Pod[] = [
  { name: 'typical pod', envCount: 5 },
  { name: '1,000 env vars', envCount: 1000 },
];

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

/** What the API server sends for a ReplicaSet's pod: the controller's service account, by name and UID. */
function review(envCount: number, controllerUid: string): Buffer {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'orders-7d9f8b6c5-',
      namespace: 'shop',
      labels: { app: 'orders', 'pod-template-hash': '7d9f8b6c5' },
      annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders', 'dapr.io/app-port': '8080', 'dapr.io/config': 'appconfig', 'dapr.io/log-level': 'info' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'orders-7d9f8b6c5', uid: 'u', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      serviceAccountName: 'default',
      containers: [
        {
          name: 'orders',
          image: 'example.com/orders:1.2.3',
          ports: [{ containerPort: 8080, name: 'http' }],
          env: Array.from({ length: envCount }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}` })),
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
          volumeMounts: [{ name: 'kube-api-access-abcde', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
        },
      ],
      volumes: [{ name: 'kube-api-access-abcde', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } }],
    },
  };
  return Buffer.from(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: REQUEST_UID,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        requestKind: { group: '', version: 'v1', kind: 'Pod' },
        requestResource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'shop',
        operation: 'CREATE',
        userInfo: {
          username: 'system:serviceaccount:kube-system:replicaset-controller',
          uid: controllerUid,
          groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
        },
        object: pod,
        oldObject: null,
        dryRun: false,
        options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      },
    }),
  );
}

/** One target with one pod: its connections, its runs so far. */
interface Cell {
  readonly target: AdmissionTarget;
  readonly pod: Pod;
  readonly body: Buffer;
  readonly agent: ReturnType<typeof keepAliveAgent>;
  readonly p50: number[];
  readonly p99: number[];
  readonly achieved: number[];
  readonly sendLag: number[];
  requests: number;
  failures: number;
  firstFailure?: string;
  serverCpuMs: number;
  apiServerCpuMs: number;
  /** The load generator's own CPU: a sanity check that the client was not the bottleneck. */
  clientCpuMs: number;
  readonly maxPerSecond: number[];
}

async function startBaseline(): Promise<{ targets: AdmissionTarget[]; stop: () => void }> {
  const child = fork(new URL('./baseline-server.js', import.meta.url).pathname, [], { stdio: 'inherit' });
  const ready = await new Promise<BaselineServerReady>((resolve, reject) => {
    child.once('message', (message) => resolve(message as BaselineServerReady));
    child.once('exit', (code) => reject(new Error(`the baseline server exited (${code}) before listening`)));
  });
  const on = (name: string, path: string, patches: boolean): AdmissionTarget => ({ name, port: ready.port, path, ca: ready.ca, servername: 'localhost', pid: child.pid ?? 0, patches });
  return {
    targets: [on('trivial allow-all handler', '/allow', false), on('tsdapr handler (same server)', '/mutate', true)],
    stop: () => child.disconnect(),
  };
}

function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

function print(cells: readonly Cell[], rate: number): void {
  const header = ['case', 'pod', 'p50 ms', 'p99 ms', 'p99 min-max', `at ${rate}/s`, 'max req/s', 'server cpu ms/req', 'apiserver cpu ms/req', 'client cpu ms/req', 'send lag p99 ms', 'failed'];
  const rows = cells.map((c) => [
    c.target.name,
    c.pod.name,
    fmt(median(c.p50)),
    fmt(median(c.p99)),
    `${fmt(Math.min(...c.p99), 1)}-${fmt(Math.max(...c.p99), 1)}`,
    fmt(median(c.achieved), 0),
    fmt(median(c.maxPerSecond), 0),
    fmt(c.serverCpuMs / c.requests, 3),
    fmt(c.apiServerCpuMs / c.requests, 3),
    fmt(c.clientCpuMs / c.requests, 3),
    fmt(median(c.sendLag), 1),
    String(c.failures),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  for (const c of cells) if (c.firstFailure) console.log(`${c.target.name}, ${c.pod.name}: first failure: ${c.firstFailure}`);
}

function printRatios(cells: readonly Cell[], ours: string, other: string, what: string): void {
  for (const pod of PODS) {
    const a = cells.find((c) => c.target.name === ours && c.pod === pod);
    const b = cells.find((c) => c.target.name === other && c.pod === pod);
    if (!a || !b) continue;
    console.log(
      `${ours} / ${what}, ${pod.name}: p99 ${fmt(median(a.p99) / median(b.p99))}x, max req/s ${fmt(median(a.maxPerSecond) / median(b.maxPerSecond))}x, cpu per request ${fmt(a.serverCpuMs / a.requests / (b.serverCpuMs / b.requests))}x (with kube-apiserver's ${fmt((a.serverCpuMs + a.apiServerCpuMs) / a.requests / ((b.serverCpuMs + b.apiServerCpuMs) / b.requests))}x)`,
    );
  }
}

async function main(): Promise<void> {
  const rate = arg('rate', 500);
  const seconds = arg('seconds', 4);
  const repeats = arg('repeats', 5);
  const warmup = arg('warmup', 1);
  const concurrency = arg('concurrency', 32);
  const loopSeconds = arg('loop-seconds', 2);
  const withCluster = !process.argv.includes('--no-cluster');

  const dir = await mkdtemp(join(tmpdir(), 'tsdapr-bench-injector-'));
  const stops: (() => Promise<void> | void)[] = [];
  let keepLogs = false;
  try {
    const baseline = await startBaseline();
    stops.push(baseline.stop);
    const targets = [...baseline.targets];
    let apiServerPid: number | undefined;
    // Without a cluster the controller's UID is unknown; the baseline server authorizes everyone.
    let controllerUid = 'b5e8a6f0-0000-4000-8000-000000000000';
    if (withCluster) {
      const cluster: Cluster = await startCluster({ logDir: join(dir, 'cluster-logs') });
      stops.push(() => cluster.stop());
      apiServerPid = cluster.pids['kube-apiserver'];
      const injectors = await startInjectorProcesses(cluster, dir);
      stops.push(() => injectors.stop());
      controllerUid = injectors.replicaSetControllerUid;
      targets.push(injectors.ours, injectors.upstream);
    }
    const cells: Cell[] = PODS.flatMap((pod) => {
      const body = review(pod.envCount, controllerUid);
      return targets.map((target) => ({ target, pod, body, agent: keepAliveAgent(64), p50: [], p99: [], achieved: [], sendLag: [], requests: 0, failures: 0, serverCpuMs: 0, apiServerCpuMs: 0, clientCpuMs: 0, maxPerSecond: [] }));
    });

    console.log(
      `admission benchmark: HTTPS on loopback; ${rate} req/s for ${seconds}s x ${repeats} runs (each after ${warmup}s of warm-up), median of runs; after each, a closed loop at concurrency ${concurrency} for ${loopSeconds}s`,
    );
    console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    for (const cell of cells) {
      // Longer first warm-up: JIT, connection pool; then check one answer in full.
      await paced(cell.agent, cell.target, cell.body, rate, 2 * warmup);
      verifyAnswer(cell.target, (await post(cell.agent, cell.target, cell.body)).answer, REQUEST_UID);
    }
    for (let run = 0; run < repeats; run++) {
      for (const cell of cells) {
        await paced(cell.agent, cell.target, cell.body, rate, warmup);
        const cpu0 = cpuMsOf(cell.target.pid);
        const api0 = apiServerPid ? cpuMsOf(apiServerPid) : 0;
        const client0 = process.cpuUsage();
        const result = await paced(cell.agent, cell.target, cell.body, rate, seconds);
        const client = process.cpuUsage(client0);
        cell.clientCpuMs += (client.user + client.system) / 1000;
        cell.serverCpuMs += cpuMsOf(cell.target.pid) - cpu0;
        cell.apiServerCpuMs += apiServerPid ? cpuMsOf(apiServerPid) - api0 : Number.NaN;
        cell.requests += result.latenciesMs.length;
        cell.failures += result.failures;
        if (result.firstFailure) cell.firstFailure ??= result.firstFailure;
        cell.p50.push(percentile(result.latenciesMs, 50));
        cell.p99.push(percentile(result.latenciesMs, 99));
        cell.achieved.push(result.achievedPerSecond);
        cell.sendLag.push(result.sendLagP99Ms);
        const loop = await closedLoop(cell.agent, cell.target, cell.body, concurrency, loopSeconds);
        cell.maxPerSecond.push(loop.perSecond);
        cell.failures += loop.failures;
      }
    }
    for (const cell of cells) cell.agent.destroy();
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    print(cells, rate);
    printRatios(cells, 'tsdapr handler (same server)', 'trivial allow-all handler', 'trivial handler');
    printRatios(cells, 'tsdapr injector (service process)', 'upstream injector 1.17.5', 'upstream');
    console.log(
      'cpu ms/req: CPU time during the paced runs per answered request, of the server process, of kube-apiserver (upstream GETs the daprsystem Configuration on every admission; ours watches it) and of this load generator. send lag: how late the generator sent (p99, median of runs); when it is more than a few ms the machine was contended and the latencies say more about it than about the servers.',
    );
    const worstLag = Math.max(...cells.map((c) => median(c.sendLag)));
    if (worstLag > CONTENDED_LAG_MS) console.log(`warning: the generator sent up to ${fmt(worstLag, 0)} ms late (p99): the machine was contended, so latencies are upper bounds; CPU per request still holds.`);
    if (cells.some((c) => c.failures > 0)) process.exitCode = 1;
  } catch (err) {
    keepLogs = true;
    throw err;
  } finally {
    for (const stop of stops.reverse()) await stop();
    if (keepLogs) console.error(`logs kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
