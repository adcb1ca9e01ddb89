/**
 * Sentry over the wire, in one run: the built sentry as a process (as in a
 * pod), real TLS, real gRPC. For each mode it measures SignCertificate
 *   - sequential (one call at a time): certs/s, p50, p99;
 *   - 1,000 calls in flight: certs/s, p50, p99;
 * and sentry's own CPU time per certificate, read from /proc, so the figure
 * is per core whatever else the machine does.
 * Modes: standalone (insecure validator: the CA alone) and kubernetes (each
 * call a TokenReview against a real kube-apiserver, pod from the cache).
 * Baseline in the same run: upstream's sentry 1.17.5 (built from its Go
 * module), standalone, under the same load; the ratio is ours/upstream.
 *
 * Usage: node bench/dist/sentry/grpc-load.js [--seconds 5] [--no-cluster]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { binaryPath, freePorts, pollUntil, probe, repoRoot, startCluster, startProcess, type Cluster, type ManagedProcess } from '@tsdapr/e2e-harness';
import { mkdir, writeFile } from 'node:fs/promises';
import { sentryClient, type SentryClient } from '@tsdapr/identity';
import { createCsr, generateCaBundle, generateKeyPair } from '@tsdapr/pki';

interface LoadResult {
  readonly label: string;
  readonly count: number;
  readonly failures: number;
  /** The first failure's message, when there were failures. */
  readonly firstFailure?: string;
  readonly elapsedMs: number;
  readonly sentryCpuMs: number;
  readonly latenciesMs: number[];
}

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] ?? 5) || 5;
const withCluster = !process.argv.includes('--no-cluster');

/** User + system CPU of a process in ms, from /proc (clock ticks are 100 Hz on Linux). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

async function startSentry(args: string[], env: Record<string, string>, upstream = false): Promise<{ process: ManagedProcess; port: number }> {
  const [port, healthz, metrics] = (await freePorts(3)) as [number, number, number];
  const common = ['--port', String(port), '--listen-address', '127.0.0.1', '--healthz-port', String(healthz), '--metrics-port', String(metrics), '--log-level', 'warn', ...args];
  const child = startProcess({
    name: upstream ? 'upstream sentry' : 'sentry',
    command: upstream ? binaryPath('upstream-sentry') : process.execPath,
    args: upstream ? common : [join(repoRoot(), 'packages/sentry/dist/main.bundle.mjs'), ...common],
    env: { ...(process.env as Record<string, string>), ...env },
  });
  // Upstream answers /healthz 200 once ready; ours has /readyz for that.
  const path = upstream ? '/healthz' : '/readyz';
  await pollUntil('sentry ready', async () => ((await probe(`http://127.0.0.1:${healthz}${path}`).catch(() => undefined))?.status === 200 ? true : undefined), { timeoutMs: 30_000 });
  return { process: child, port };
}

const UPSTREAM_CONFIG = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprsystem
spec:
  mtls:
    enabled: true
    workloadCertTTL: 24h
    allowedClockSkew: 15m
`;

/** Sequential and 1,000 in flight against a standalone sentry, ours or upstream's. */
async function standaloneRuns(label: string, upstream: boolean, dir: string, csrs: Buffer[]): Promise<LoadResult[]> {
  const creds = join(dir, `${label}-creds`);
  await mkdir(creds, { recursive: true });
  // A bundle written before start: upstream restarts its CA server whenever
  // its credentials directory changes, its own bootstrap write included.
  const bundle = generateCaBundle({ trustDomain: 'localhost', sentrySpiffeId: 'spiffe://localhost/ns/default/dapr-sentry', algorithm: 'ecdsa-p256', now: new Date() });
  await writeFile(join(creds, 'ca.crt'), bundle.trustAnchorsPem);
  await writeFile(join(creds, 'issuer.crt'), bundle.issuerChainPem);
  await writeFile(join(creds, 'issuer.key'), bundle.issuerKeyPem, { mode: 0o600 });
  const args = ['--mode', 'standalone', '--issuer-credentials', creds, '--trust-domain', 'localhost'];
  if (upstream) {
    await writeFile(join(dir, 'upstream-config.yaml'), UPSTREAM_CONFIG);
    args.push('--config', join(dir, 'upstream-config.yaml'));
  }
  const sentry = await startSentry(args, { NAMESPACE: 'default' }, upstream);
  const client = sentryClient(`127.0.0.1:${sentry.port}`, await readFile(join(creds, 'ca.crt'), 'utf8'), 'spiffe://localhost/ns/default/dapr-sentry');
  const request = { id: 'bench', namespace: 'default', token: '', token_validator: 'UNKNOWN' as const };
  try {
    return [
      await load(`${label}, standalone, sequential`, client, sentry.process.pid, request, 1, csrs),
      await load(`${label}, standalone, 1,000 in flight`, client, sentry.process.pid, request, 1000, csrs),
    ];
  } finally {
    client.close();
    await sentry.process.stop();
  }
}

async function load(label: string, client: SentryClient, pid: number, request: { id: string; namespace: string; token: string; token_validator: 'UNKNOWN' | 'KUBERNETES' }, concurrency: number, csrs: Buffer[]): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  // Warm up the channel and the process's code paths.
  for (let i = 0; i < 20; i++) await client.sign({ ...request, certificate_signing_request: csrs[i % csrs.length]! });
  const cpuStart = cpuMsOf(pid);
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const csr = csrs[next++ % csrs.length]!;
      const t0 = performance.now();
      try {
        await client.sign({ ...request, certificate_signing_request: csr });
        latencies.push(performance.now() - t0);
      } catch (err) {
        failures++;
        firstFailure ??= (err as { details?: string }).details ?? String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - start;
  return { label, count: latencies.length, failures, ...(firstFailure ? { firstFailure } : {}), elapsedMs, sentryCpuMs: cpuMsOf(pid) - cpuStart, latenciesMs: latencies.sort((a, b) => a - b) };
}

function print(results: LoadResult[]): void {
  const rows = results.map((r) => [
    r.label,
    String(r.count),
    String(r.failures),
    (r.count / (r.elapsedMs / 1000)).toFixed(0),
    (r.count / (r.sentryCpuMs / 1000)).toFixed(0),
    percentile(r.latenciesMs, 0.5).toFixed(2),
    percentile(r.latenciesMs, 0.99).toFixed(2),
  ]);
  const header = ['sentry over gRPC+TLS', 'certs', 'failed', 'certs/s', 'certs/cpu-s', 'p50 ms', 'p99 ms'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  for (const r of results) if (r.firstFailure) console.log(`${r.label}: first failure: ${r.firstFailure}`);
}

async function main(): Promise<void> {
  const csrs = Array.from({ length: 2048 }, () => Buffer.from(createCsr(generateKeyPair('ecdsa-p256').privateKey)));
  const results: LoadResult[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'tsdapr-bench-sentry-'));
  try {
    results.push(...(await standaloneRuns('tsdapr', false, dir, csrs)));
    results.push(...(await standaloneRuns('upstream 1.17.5', true, dir, csrs)));

    if (withCluster) {
      const cluster: Cluster = await startCluster();
      try {
        const kubeConfig = cluster.kubeConfig();
        const core = kubeConfig.makeApiClient(CoreV1Api);
        await core.createNamespace({ body: { metadata: { name: 'dapr-system' } } });
        const pod = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'bench', annotations: { 'dapr.io/app-id': 'bench' } }, spec: { containers: [{ name: 'app', image: 'example.invalid/app' }] } } });
        const token = (await core.createNamespacedServiceAccountToken({ name: 'default', namespace: 'default', body: { spec: { audiences: ['dapr.io/sentry'], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bench', uid: pod.metadata?.uid ?? '' } } } })).status?.token ?? '';
        const sentry = await startSentry(['--mode', 'kubernetes', '--kubeconfig', cluster.kubeconfigPath, '--trust-domain', 'cluster.local'], { NAMESPACE: 'dapr-system' });
        const anchors = (await core.readNamespacedConfigMap({ namespace: 'dapr-system', name: 'dapr-trust-bundle' })).data?.['ca.crt'] ?? '';
        const k8sClient = sentryClient(`127.0.0.1:${sentry.port}`, anchors, 'spiffe://cluster.local/ns/dapr-system/dapr-sentry');
        const k8sRequest = { id: 'bench', namespace: 'default', token, token_validator: 'KUBERNETES' as const };
        results.push(await load('tsdapr, kubernetes (TokenReview), sequential', k8sClient, sentry.process.pid, k8sRequest, 1, csrs));
        results.push(await load('tsdapr, kubernetes (TokenReview), 1,000 in flight', k8sClient, sentry.process.pid, k8sRequest, 1000, csrs));
        k8sClient.close();
        await sentry.process.stop();
      } finally {
        await cluster.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  print(results);
  const rate = (label: string): number => {
    const r = results.find((result) => result.label === label);
    return r ? r.count / (r.sentryCpuMs / 1000) : NaN;
  };
  for (const kind of ['standalone, sequential', 'standalone, 1,000 in flight']) {
    console.log(`ratio tsdapr/upstream, ${kind}: ${(rate(`tsdapr, ${kind}`) / rate(`upstream 1.17.5, ${kind}`)).toFixed(2)}x certs per sentry CPU-second`);
  }
  console.log('certs/cpu-s is certificates per second of sentry CPU time: the per-core figure. In kubernetes mode the API server shares the machine.');
}

await main();
