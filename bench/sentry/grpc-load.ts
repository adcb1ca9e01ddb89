/**
 * Sentry over the wire, in one run: the built sentry as a process (as in a
 * pod), real TLS, real gRPC. For each mode it measures SignCertificate
 *   - sequential (one call at a time): certs/s, p50, p99;
 *   - 1,000 calls in flight: certs/s, p50, p99;
 * and sentry's own CPU time per certificate, read from /proc, so the figure
 * is per core whatever else the machine does.
 * Modes: standalone (insecure validator: the CA alone) and kubernetes (each
 * call a TokenReview against a real kube-apiserver, pod from the cache).
 *
 * Usage: node bench/dist/sentry/grpc-load.js [--seconds 5] [--no-cluster]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { freePorts, pollUntil, probe, repoRoot, startCluster, startProcess, type Cluster, type ManagedProcess } from '@tsdapr/e2e-harness';
import { sentryClient, type SentryClient } from '@tsdapr/identity';
import { createCsr, generateKeyPair } from '@tsdapr/pki';

interface LoadResult {
  readonly label: string;
  readonly count: number;
  readonly failures: number;
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

async function startSentry(args: string[], env: Record<string, string>): Promise<{ process: ManagedProcess; port: number }> {
  const [port, healthz, metrics] = (await freePorts(3)) as [number, number, number];
  const child = startProcess({
    name: 'sentry',
    command: process.execPath,
    args: [join(repoRoot(), 'packages/sentry/dist/main.js'), '--port', String(port), '--listen-address', '127.0.0.1', '--healthz-port', String(healthz), '--metrics-port', String(metrics), '--log-level', 'warn', ...args],
    env: { ...(process.env as Record<string, string>), ...env },
  });
  await pollUntil('sentry ready', async () => ((await probe(`http://127.0.0.1:${healthz}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), { timeoutMs: 30_000 });
  return { process: child, port };
}

async function load(label: string, client: SentryClient, pid: number, request: { id: string; namespace: string; token: string; token_validator: 'UNKNOWN' | 'KUBERNETES' }, concurrency: number, csrs: Buffer[]): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
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
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - start;
  return { label, count: latencies.length, failures, elapsedMs, sentryCpuMs: cpuMsOf(pid) - cpuStart, latenciesMs: latencies.sort((a, b) => a - b) };
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
}

async function main(): Promise<void> {
  const csrs = Array.from({ length: 2048 }, () => Buffer.from(createCsr(generateKeyPair('ecdsa-p256').privateKey)));
  const results: LoadResult[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'tsdapr-bench-sentry-'));
  try {
    const standalone = await startSentry(['--mode', 'standalone', '--issuer-credentials', join(dir, 'creds'), '--trust-domain', 'localhost'], { NAMESPACE: 'default' });
    const client = sentryClient(`127.0.0.1:${standalone.port}`, await readFile(join(dir, 'creds', 'ca.crt'), 'utf8'), 'spiffe://localhost/ns/default/dapr-sentry');
    const request = { id: 'bench', namespace: 'default', token: '', token_validator: 'UNKNOWN' as const };
    results.push(await load('standalone, sequential', client, standalone.process.pid, request, 1, csrs));
    results.push(await load('standalone, 1,000 in flight', client, standalone.process.pid, request, 1000, csrs));
    client.close();
    await standalone.process.stop();

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
        results.push(await load('kubernetes (TokenReview), sequential', k8sClient, sentry.process.pid, k8sRequest, 1, csrs));
        results.push(await load('kubernetes (TokenReview), 1,000 in flight', k8sClient, sentry.process.pid, k8sRequest, 1000, csrs));
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
  console.log('certs/cpu-s is certificates per second of sentry CPU time: the per-core figure. In kubernetes mode the API server shares the machine.');
}

await main();
