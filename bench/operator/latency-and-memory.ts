/**
 * The operator under load, ours and upstream's 1.17.5 in one run against the
 * same real API server (etcd + kube-apiserver + kube-controller-manager from
 * the harness), the same Sentry (ours, Kubernetes mode) and the same trust
 * bundle. Each measurement starts a fresh operator process; the two run one
 * after the other, never together.
 *
 *  1. Update latency, in an otherwise empty cluster: `--sidecars` simulated
 *     daprd sidecars in namespace `bench`, each on its own mTLS connection
 *     with its own SVID (spiffe://public/ns/bench/app-NNN, signed with the
 *     issuer Sentry bootstrapped into the dapr-trust-bundle Secret), hold a
 *     ComponentUpdate stream. One Component's spec is patched `--changes`
 *     times, 100 ms apart; per change, the time from the PATCH returning to
 *     the change arriving on each stream (per-stream latency) and on the last
 *     one ("all streams"). A first change, not counted, proves every
 *     stream is registered. The operator's CPU over the changes is read from
 *     /proc/<pid>/stat, its RSS from /proc/<pid>/status.
 *  2. Memory: RSS (VmRSS 15 s after ready and one ListComponents call, and
 *     VmHWM, the peak) in that empty cluster, with `--components` Components
 *     in one namespace, then (those deleted) with `--pods` Pods that have
 *     nothing to do with Dapr (Pending: no scheduler or kubelet runs).
 *
 * Usage: node bench/dist/operator/latency-and-memory.js [--sidecars 100] [--changes 20]
 *          [--components 5000] [--pods 10000] [--no-upstream]   (0 Components or Pods skips that phase)
 *          [--tsdapr-node-options ""]   (ours once more, with this NODE_OPTIONS instead of the chart's default)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { applyCrds, controlPlaneToken, freePorts, repoRoot, startCluster, startServiceProcess, type ServiceProcess } from '@tsdapr/e2e-harness';
import { clientCredentials, operatorService, SPIFFE_CHANNEL_OPTIONS, type TlsIdentity } from '@tsdapr/grpc';
import { generateKeyPair, loadIssuer, type Issuer } from '@tsdapr/pki';
import { createComponents, createNamespace, createPods, deleteComponents } from './cluster-fill.js';
import { createDaprSystemConfiguration, startOurOperator, startUpstreamOperator, type Implementation, type OperatorEnvironment, type OperatorUnderTest } from './operators-under-test.js';
import { cpuMsOf, loadAverage, memMiBOf, percentile } from './process-stats.js';
import { SimulatedSidecars } from './simulated-sidecars.js';

const argValue = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const SIDECARS = Number(argValue('--sidecars') ?? 100);
const CHANGES = Number(argValue('--changes') ?? 20);
const COMPONENTS = Number(argValue('--components') ?? 5000);
const PODS = Number(argValue('--pods') ?? 10000);
const WITH_UPSTREAM = !process.argv.includes('--no-upstream');
/** When given, ours runs a second time in the same run with this NODE_OPTIONS instead of the chart's ("" for none). */
const OUR_NODE_OPTIONS = argValue('--tsdapr-node-options');

const TRUST_DOMAIN = 'cluster.local';
const CONTROL_PLANE_NAMESPACE = 'dapr-system';
const OPERATOR_ID = `spiffe://${TRUST_DOMAIN}/ns/${CONTROL_PLANE_NAMESPACE}/dapr-operator`;
const STREAM_NAMESPACE = 'bench';
const COMPONENTS_NAMESPACE = 'bench-components';
const PODS_NAMESPACE = 'bench-pods';
const WATCHED_COMPONENT = 'bench-state';
/** The metadata entry whose value each change sets to a new marker. */
const MARKER = 'generation';
const CREATE_CONCURRENCY = 16;
const SETTLE_MS = 15_000;
const CHANGE_TIMEOUT_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What one implementation measured; a missing figure has the reason it is missing. */
type Figures = Map<string, number | string>;

/** Sidecar SVIDs as Sentry issues them (a fresh P-256 key each), signed with the issuer Sentry bootstrapped. */
function svidFor(issuer: Issuer, namespace: string, appId: string): TlsIdentity {
  const keys = generateKeyPair('ecdsa-p256');
  const signed = issuer.sign({ spiffeId: `spiffe://public/ns/${namespace}/${appId}`, publicKey: keys.publicKey, now: new Date(), ttlMs: 3_600_000, allowedClockSkewMs: 60_000 });
  return { certificateChainPem: signed.certificatePem, privateKeyPem: keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

interface Run {
  readonly env: OperatorEnvironment;
  readonly kubeConfig: KubeConfig;
  readonly issuer: Issuer;
  readonly sidecarIdentities: readonly TlsIdentity[];
  runs: number;
}

async function start(run: Run, implementation: Implementation): Promise<OperatorUnderTest> {
  run.runs++;
  if (implementation === 'upstream 1.17.5') return startUpstreamOperator(run.env, run.runs);
  return startOurOperator(run.env, run.runs, implementation === 'tsdapr, NODE_OPTIONS' ? OUR_NODE_OPTIONS : undefined);
}

/** One ListComponents call, as a sidecar makes at startup; returns how many came back and how long it took. */
async function listComponents(run: Run, operator: OperatorUnderTest, namespace: string): Promise<{ count: number; ms: number }> {
  const { Client: OperatorClient } = operatorService();
  const client = new OperatorClient(
    `127.0.0.1:${operator.apiPort}`,
    clientCredentials({ trustAnchorsPem: run.issuer.trustAnchorsPem, expectedServerId: OPERATOR_ID, identity: svidFor(run.issuer, namespace, 'app-0') }),
    { ...SPIFFE_CHANNEL_OPTIONS },
  ) as unknown as Client & { ListComponents: (request: unknown, callback: (err: ServiceError | null, value?: { components: Buffer[] }) => void) => void };
  try {
    const startedAt = performance.now();
    const response = await new Promise<{ components: Buffer[] }>((resolve, reject) => {
      client.ListComponents({ namespace, pod_name: 'bench' }, (err, value) => (err ? reject(err) : resolve(value ?? { components: [] })));
    });
    return { count: response.components.length, ms: performance.now() - startedAt };
  } finally {
    client.close();
  }
}

async function measureLatency(run: Run, implementation: Implementation, figures: Figures): Promise<void> {
  const operator = await start(run, implementation);
  const sidecars = new SimulatedSidecars(WATCHED_COMPONENT, MARKER, SIDECARS);
  try {
    figures.set('startup to ready, empty cluster (ms)', operator.startupMs);
    await listComponents(run, operator, STREAM_NAMESPACE);
    await sleep(SETTLE_MS);
    figures.set('RSS, empty cluster (MiB)', memMiBOf(operator.pid, 'VmRSS'));

    sidecars.open({
      address: `127.0.0.1:${operator.apiPort}`,
      namespace: STREAM_NAMESPACE,
      trustAnchorsPem: run.issuer.trustAnchorsPem,
      operatorId: OPERATOR_ID,
      identityOf: (index) => run.sidecarIdentities[index]!,
    });
    const custom = run.kubeConfig.makeApiClient(CustomObjectsApi);
    const api = { group: 'dapr.io', version: 'v1alpha1', namespace: STREAM_NAMESPACE, plural: 'components' } as const;
    // A JSON patch of the spec alone, as `kubectl patch` sends: no resourceVersion
    // to conflict with an operator that writes the Component's status.
    const change = async (marker: string): Promise<{ sentAt: number; returnedAt: number; marker: string }> => {
      const sentAt = performance.now();
      await custom.patchNamespacedCustomObject({ ...api, name: WATCHED_COMPONENT, body: [{ op: 'replace', path: '/spec/metadata', value: [{ name: MARKER, value: marker }] }] });
      return { sentAt, returnedAt: performance.now(), marker };
    };

    // Streams are registered when a change has reached all of them; a stream
    // registered after a change never sees it (streams carry changes only), so
    // warm-up changes repeat until one reaches every stream. Not counted.
    for (let attempt = 1; ; attempt++) {
      const warmUp = await change(`${implementation}-warm-up-${attempt}`);
      try {
        await sidecars.arrivalTimes(warmUp.marker, 5_000);
        break;
      } catch (err) {
        if (attempt === 12) throw err;
      }
    }

    const perStream: number[] = [];
    const allStreams: number[] = [];
    const roundTrips: number[] = [];
    const cpuBefore = cpuMsOf(operator.pid);
    const eventsBefore = sidecars.eventsReceived;
    for (let i = 0; i < CHANGES; i++) {
      await sleep(100);
      const { sentAt, returnedAt, marker } = await change(`${implementation}-${i}`);
      const arrivals = await sidecars.arrivalTimes(marker, CHANGE_TIMEOUT_MS);
      roundTrips.push(returnedAt - sentAt);
      for (const at of arrivals) perStream.push(at - returnedAt);
      allStreams.push(Math.max(...arrivals) - returnedAt);
    }
    const cpuMs = cpuMsOf(operator.pid) - cpuBefore;
    // Late events of the last change still count: wait for them before reading.
    await sleep(1000);
    const eventsPerStreamPerChange = (sidecars.eventsReceived - eventsBefore) / SIDECARS / CHANGES;
    if (sidecars.errors.length > 0) throw new Error(`stream errors: ${sidecars.errors.slice(0, 3).join('; ')}`);

    figures.set('update, per stream, p50 (ms)', percentile(perStream, 0.5));
    figures.set('update, per stream, p99 (ms)', percentile(perStream, 0.99));
    figures.set('update, all streams, p50 (ms)', percentile(allStreams, 0.5));
    figures.set('update, all streams, p99 (ms)', percentile(allStreams, 0.99));
    figures.set('update, all streams, max (ms)', Math.max(...allStreams));
    figures.set('API server PATCH round trip, p50 (ms)', percentile(roundTrips, 0.5));
    figures.set('operator CPU per change (ms)', cpuMs / CHANGES);
    figures.set('events per stream per change', eventsPerStreamPerChange);
    figures.set(`RSS, ${SIDECARS} streams open (MiB)`, memMiBOf(operator.pid, 'VmRSS'));
  } finally {
    sidecars.close();
    await operator.stop();
  }
}

async function measureMemory(run: Run, implementation: Implementation, figures: Figures, label: string, namespace: string): Promise<void> {
  const operator = await start(run, implementation);
  try {
    figures.set(`startup to ready, ${label} (ms)`, operator.startupMs);
    // A sidecar's first call: an operator whose caches fill lazily fills them now.
    const listed = await listComponents(run, operator, namespace);
    figures.set(`ListComponents, ${label} (ms)`, listed.ms);
    await sleep(SETTLE_MS);
    figures.set(`RSS, ${label} (MiB)`, memMiBOf(operator.pid, 'VmRSS'));
    figures.set(`peak RSS, ${label} (MiB)`, memMiBOf(operator.pid, 'VmHWM'));
    figures.set(`CPU to start and settle, ${label} (ms)`, cpuMsOf(operator.pid));
  } finally {
    await operator.stop();
  }
}

/** Runs `measure` for each implementation; upstream's failure is recorded as its figures' reason, ours fails the run. */
async function forEach(implementations: readonly Implementation[], results: Map<Implementation, Figures>, measure: (implementation: Implementation, figures: Figures) => Promise<void>): Promise<void> {
  for (const implementation of implementations) {
    const figures = results.get(implementation)!;
    try {
      await measure(implementation, figures);
    } catch (err) {
      if (implementation !== 'upstream 1.17.5') throw err;
      const reason = (err as Error).message.split('\n')[0] ?? 'failed';
      process.stdout.write(`  ${implementation} failed: ${reason}\n`);
      figures.set(`failure: ${reason}`, reason);
    }
  }
}

function format(value: number | string | undefined): string {
  if (value === undefined) return 'n/a';
  if (typeof value === 'string') return value;
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function printTable(results: Map<Implementation, Figures>): void {
  const ours = results.get('tsdapr')!;
  const flagged = results.get('tsdapr, NODE_OPTIONS');
  const upstream = results.get('upstream 1.17.5');
  const upstreamFailure = upstream ? [...upstream.keys()].find((key) => key.startsWith('failure: ')) : undefined;
  const ratio = (value: number | string | undefined, base: number | string | undefined): string => (typeof value === 'number' && typeof base === 'number' && base > 0 ? `${(value / base).toFixed(2)}x` : '');
  const header = ['metric', 'tsdapr', 'upstream 1.17.5', 'ratio (tsdapr / upstream)'];
  if (flagged) header.push(`tsdapr, NODE_OPTIONS="${OUR_NODE_OPTIONS}"`, 'ratio (to tsdapr)');
  const rows: string[][] = [header];
  for (const [metric, value] of ours) {
    const theirs = upstream?.get(metric);
    const row = [metric, format(value), theirs === undefined ? (upstream ? `n/a${upstreamFailure ? ' (failed)' : ''}` : 'n/a (--no-upstream)') : format(theirs), ratio(value, theirs)];
    if (flagged) row.push(format(flagged.get(metric)), ratio(flagged.get(metric), value));
    rows.push(row);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}\n`);
  if (upstreamFailure) process.stdout.write(`upstream ${upstreamFailure}\n`);
}

async function main(): Promise<void> {
  const logDir = join(repoRoot(), '.tsdapr', 'bench', 'operator');
  // Service logs are appended to: start each run with none.
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  process.stdout.write(`operator bench: ${SIDECARS} sidecars, ${CHANGES} changes, ${COMPONENTS} Components, ${PODS} Pods; logs in ${logDir}; load ${loadAverage()}\n`);
  const cluster = await startCluster({ logDir });
  let sentry: ServiceProcess | undefined;
  try {
    const kubeConfig = cluster.kubeConfig();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: CONTROL_PLANE_NAMESPACE } } });
    await applyCrds(cluster.kubeconfigPath, kubeConfig);
    const [sentryPort, sentryHealthz, sentryMetrics] = (await freePorts(3)) as [number, number, number];
    sentry = await startServiceProcess(
      'sentry',
      sentryHealthz,
      ['--mode', 'kubernetes', '--kubeconfig', cluster.kubeconfigPath, '--trust-domain', TRUST_DOMAIN, '--listen-address', '127.0.0.1', '--port', String(sentryPort), '--metrics-port', String(sentryMetrics), '--log-level', 'info'],
      { NAMESPACE: CONTROL_PLANE_NAMESPACE },
      join(logDir, 'sentry.log'),
    );
    const secret = await core.readNamespacedSecret({ namespace: CONTROL_PLANE_NAMESPACE, name: 'dapr-trust-bundle' });
    const key = (name: string): string => Buffer.from(secret.data?.[name] ?? '', 'base64').toString('utf8');
    const issuer = loadIssuer({ trustAnchorsPem: key('ca.crt'), issuerChainPem: key('issuer.crt'), issuerKeyPem: key('issuer.key') }, new Date());
    const anchorsFile = join(logDir, 'ca.crt');
    writeFileSync(anchorsFile, issuer.trustAnchorsPem);
    const tokenFile = join(logDir, 'operator.token');
    await controlPlaneToken(kubeConfig, { namespace: CONTROL_PLANE_NAMESPACE, trustDomain: TRUST_DOMAIN, name: 'operator', tokenFile });
    const env: OperatorEnvironment = { kubeconfigPath: cluster.kubeconfigPath, kubeConfig, namespace: CONTROL_PLANE_NAMESPACE, trustDomain: TRUST_DOMAIN, sentryAddress: `127.0.0.1:${sentryPort}`, anchorsFile, tokenFile, logDir };
    await createDaprSystemConfiguration(env);

    await createNamespace(kubeConfig, STREAM_NAMESPACE);
    await kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'dapr.io',
      version: 'v1alpha1',
      namespace: STREAM_NAMESPACE,
      plural: 'components',
      body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: WATCHED_COMPONENT }, spec: { type: 'state.in-memory', version: 'v1', metadata: [{ name: MARKER, value: '0' }] } },
    });
    const sidecarIdentities = Array.from({ length: SIDECARS }, (_, i) => svidFor(issuer, STREAM_NAMESPACE, `app-${String(i).padStart(3, '0')}`));
    const run: Run = { env, kubeConfig, issuer, sidecarIdentities, runs: 0 };

    const implementations: Implementation[] = ['tsdapr', ...(OUR_NODE_OPTIONS !== undefined ? ['tsdapr, NODE_OPTIONS' as const] : []), ...(WITH_UPSTREAM ? ['upstream 1.17.5' as const] : [])];
    const results = new Map<Implementation, Figures>(implementations.map((implementation) => [implementation, new Map()]));

    process.stdout.write(`update latency, ${SIDECARS} streams (load ${loadAverage()})\n`);
    await forEach(implementations, results, (implementation, figures) => measureLatency(run, implementation, figures));

    // 0 skips a phase (for a quick latency-only run).
    if (COMPONENTS > 0) {
      process.stdout.write(`creating ${COMPONENTS} Components (load ${loadAverage()})\n`);
      await createNamespace(kubeConfig, COMPONENTS_NAMESPACE);
      const startedAt = performance.now();
      await createComponents(kubeConfig, COMPONENTS_NAMESPACE, COMPONENTS, CREATE_CONCURRENCY);
      process.stdout.write(`  created in ${((performance.now() - startedAt) / 1000).toFixed(0)} s; measuring (load ${loadAverage()})\n`);
      await forEach(implementations, results, (implementation, figures) => measureMemory(run, implementation, figures, `${COMPONENTS} Components`, COMPONENTS_NAMESPACE));
      await deleteComponents(kubeConfig, COMPONENTS_NAMESPACE);
    }

    if (PODS > 0) {
      process.stdout.write(`creating ${PODS} non-Dapr Pods (load ${loadAverage()})\n`);
      await createNamespace(kubeConfig, PODS_NAMESPACE);
      const startedAt = performance.now();
      await createPods(kubeConfig, PODS_NAMESPACE, PODS, CREATE_CONCURRENCY);
      process.stdout.write(`  created in ${((performance.now() - startedAt) / 1000).toFixed(0)} s; measuring (load ${loadAverage()})\n`);
      await forEach(implementations, results, (implementation, figures) => measureMemory(run, implementation, figures, `${PODS} non-Dapr Pods`, PODS_NAMESPACE));
    }

    process.stdout.write(`\nload average at the end: ${loadAverage()}\n`);
    printTable(results);
    const ours = results.get('tsdapr')!;
    const p99 = ours.get('update, all streams, p99 (ms)');
    const podsRss = ours.get(`RSS, ${PODS} non-Dapr Pods (MiB)`);
    const podsTarget = typeof podsRss === 'number' ? (podsRss * 1.048576 < 100 ? 'met' : 'missed') : 'not measured';
    process.stdout.write(`targets: update p99 < 100 ms (all streams): ${typeof p99 === 'number' && p99 < 100 ? 'met' : 'missed'}; RSS with ${PODS} non-Dapr Pods < 100 MB: ${podsTarget}\n`);
  } finally {
    await sentry?.stop();
    await cluster.stop();
  }
}

await main();
