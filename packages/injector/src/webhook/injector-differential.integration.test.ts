import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import {
  binaryPath,
  controlPlaneToken,
  createTestNamespace,
  freePorts,
  pollUntil,
  probe,
  requireTestCluster,
  startProcess,
  testKubeConfig,
  type ManagedProcess,
  type TestNamespace,
} from '@tsdapr/e2e-harness';
import { silentLogger } from '@tsdapr/runtime';
import { Registry } from 'prom-client';
import { ANNOTATIONS } from '../annotations/annotation-table.js';
import { resolveServiceAccountUids } from '../controllers/cluster-facts.js';
import { createInjectorMetrics } from '../metrics.js';
import { parseInjectorOptions } from '../options.js';
import type { InjectorSettings } from '../patch/injector-settings.js';
import { applyJsonPatch } from '../patch/json-patch.js';
import type { Container, PatchOperation, Pod } from '../patch/pod-types.js';
import { podSidecarVersion } from '../patch/sidecar-patch.js';
import { DAPRD_FLAG_SINCE, DAPRD_MINORS, flagSupported, type DaprdFlag, type DaprdMinor } from '../versions/daprd-versions.js';
import { handleAdmissionReview, type AdmissionHandlerDeps } from './admission-handler.js';
import { uidAllowList, versionedAuthorizer } from './service-account-matcher.js';

/**
 * The differential test of issue #17: the same AdmissionReviews through our
 * admission handler and through upstream's injectors 1.17.5 and 1.18.1 (the
 * real binaries, as processes, each with its Sentry-issued SVID, reading the
 * real kube-apiserver of the test cluster), comparing the pods after applying
 * each answer's patch. Each pod is compared with the upstream injector of the
 * daprd version its sidecar runs, for our injector with SIDECAR_IMAGE 1.17.5
 * and with SIDECAR_IMAGE 1.18.1. Then every sidecar we built is started as a
 * real daprd of its version: it must get past flag parsing.
 *
 * Upstream patches the caBundle of the cluster-wide MutatingWebhookConfiguration
 * named `dapr-sidecar-injector` (hard-coded) and exits if it cannot; other
 * tests install the chart, whose webhook has that name. So upstream talks to
 * the API server through a small proxy that answers that one PATCH itself and
 * forwards everything else.
 */
const VERSIONS = { '1.17': '1.17.5', '1.18': '1.18.1' } as const satisfies Record<DaprdMinor, string>;
const IMAGE = (minor: DaprdMinor): string => `ghcr.io/dapr/daprd:${VERSIONS[minor]}`;
const SENTRY_MAIN = fileURLToPath(new URL('../../../sentry/dist/main.js', import.meta.url));
const TRUST_DOMAIN = 'cluster.local';
const WAIT = { timeoutMs: 45_000, intervalMs: 200 };

interface Case {
  readonly name: string;
  readonly annotations?: Record<string, string>;
  readonly pod?: (pod: Pod) => Pod;
  /** Requester; default: an allow-listed service account whose UID was resolved at start. */
  readonly user?: 'listed' | 'unlisted-uid' | 'builtin-by-name' | 'prefix' | 'masters' | 'stranger';
  /** `ours-denies`: a documented denial (README, "Denials") where upstream injects a sidecar that cannot work. */
  readonly expect?: 'same' | 'ours-denies';
}

const V18 = { 'dapr.io/sidecar-image': IMAGE('1.18') };
const V17 = { 'dapr.io/sidecar-image': IMAGE('1.17') };

const CASES: readonly Case[] = [
  { name: 'minimal' },
  { name: 'app port, protocol, config', annotations: { 'dapr.io/app-port': '8080', 'dapr.io/app-protocol': 'grpc', 'dapr.io/config': 'appconfig', 'dapr.io/app-ssl': 'true' } },
  { name: 'channel address, log settings', annotations: { 'dapr.io/app-channel-address': '10.0.0.1', 'dapr.io/log-level': 'debug', 'dapr.io/log-as-json': 'true', 'dapr.io/enable-api-logging': 'false' } },
  { name: 'profiling, concurrency, metrics off', annotations: { 'dapr.io/enable-profiling': 'true', 'dapr.io/app-max-concurrency': '10', 'dapr.io/enable-metrics': 'false', 'dapr.io/metrics-port': '9191' } },
  { name: 'debug', annotations: { 'dapr.io/enable-debug': 'true', 'dapr.io/debug-port': '40001' } },
  { name: 'ports and listen addresses', annotations: { 'dapr.io/grpc-port': '50011', 'dapr.io/internal-grpc-port': '50012', 'dapr.io/sidecar-listen-addresses': '0.0.0.0' } },
  { name: 'request and buffer sizes (old names)', annotations: { 'dapr.io/http-max-request-size': '16', 'dapr.io/http-read-buffer-size': '8' } },
  { name: 'request and buffer sizes (new names)', annotations: { 'dapr.io/max-body-size': '16Mi', 'dapr.io/read-buffer-size': '8Ki' } },
  { name: 'shutdown', annotations: { 'dapr.io/graceful-shutdown-seconds': '10', 'dapr.io/block-shutdown-duration': '5s' } },
  { name: 'unix domain socket', annotations: { 'dapr.io/unix-domain-socket-path': '/tmp/dapr' } },
  { name: 'secret store, init endpoints', annotations: { 'dapr.io/disable-builtin-k8s-secret-store': 'true', 'dapr.io/disable-init-endpoints': 'healthz' } },
  { name: 'env and env from secret', annotations: { 'dapr.io/env': 'A=1,B=two', 'dapr.io/env-from-secret': 'C=s1,D=s2:k2' } },
  { name: 'api and app tokens', annotations: { 'dapr.io/api-token-secret': 'api', 'dapr.io/app-token-secret': 'app' } },
  {
    name: 'app health check',
    annotations: { 'dapr.io/enable-app-health-check': 'true', 'dapr.io/app-health-check-path': '/ready', 'dapr.io/app-health-probe-interval': '2', 'dapr.io/app-health-probe-timeout': '100', 'dapr.io/app-health-threshold': '7' },
  },
  { name: 'app binding options timeout (no daprd accepts it)', annotations: { 'dapr.io/app-binding-options-timeout': '5s' } },
  { name: 'app binding options timeout on 1.18', annotations: { 'dapr.io/app-binding-options-timeout': '5s', ...V18 } },
  { name: 'resources', annotations: { 'dapr.io/sidecar-cpu-request': '100m', 'dapr.io/sidecar-cpu-limit': '1', 'dapr.io/sidecar-memory-request': '64Mi', 'dapr.io/sidecar-memory-limit': '256Mi' } },
  {
    name: 'all probe settings',
    annotations: {
      'dapr.io/sidecar-liveness-probe-delay-seconds': '11',
      'dapr.io/sidecar-liveness-probe-timeout-seconds': '12',
      'dapr.io/sidecar-liveness-probe-period-seconds': '13',
      'dapr.io/sidecar-liveness-probe-threshold': '14',
      'dapr.io/sidecar-readiness-probe-delay-seconds': '0',
      'dapr.io/sidecar-readiness-probe-timeout-seconds': '2',
      'dapr.io/sidecar-readiness-probe-period-seconds': '3',
      'dapr.io/sidecar-readiness-probe-threshold': '4',
    },
  },
  { name: 'some probe settings', annotations: { 'dapr.io/sidecar-liveness-probe-delay-seconds': '30', 'dapr.io/sidecar-readiness-probe-threshold': '9' } },
  { name: 'some probe settings on 1.18', annotations: { 'dapr.io/sidecar-liveness-probe-period-seconds': '30', 'dapr.io/sidecar-readiness-probe-delay-seconds': '4', ...V18 } },
  { name: 'sidecar image 1.18', annotations: V18 },
  { name: 'sidecar image 1.17', annotations: V17 },
  { name: 'seccomp', annotations: { 'dapr.io/sidecar-seccomp-profile-type': 'RuntimeDefault' } },
  {
    name: 'volume mounts',
    annotations: { 'dapr.io/volume-mounts': 'certs:/certs', 'dapr.io/volume-mounts-rw': 'scratch:/scratch' },
    pod: (p) => ({ ...p, spec: { ...p.spec, volumes: [{ name: 'certs', secret: { secretName: 'c' } }, { name: 'scratch', emptyDir: {} }] } }),
  },
  { name: 'native sidecar on 1.18', annotations: { 'dapr.io/enable-native-sidecar': 'true', ...V18 } },
  { name: 'native sidecar asked of 1.17 (dropped)', annotations: { 'dapr.io/enable-native-sidecar': 'true', ...V17 } },
  {
    name: 'native sidecar after init containers',
    annotations: { 'dapr.io/enable-native-sidecar': 'true', ...V18 },
    pod: (p) => ({ ...p, spec: { ...p.spec, initContainers: [{ name: 'init', image: 'busybox' }] } }),
  },
  { name: 'placement and scheduler addresses', annotations: { 'dapr.io/placement-host-address': 'my-placement:50005', 'dapr.io/scheduler-host-address': 'sched:50006' } },
  { name: 'actors disseminate timeout on 1.18', annotations: { 'dapr.io/actors-disseminate-timeout': '20s', ...V18 } },
  { name: 'actors disseminate timeout on 1.17 (dropped)', annotations: { 'dapr.io/actors-disseminate-timeout': '20s', ...V17 } },
  { name: 'jwt audiences', annotations: { 'dapr.io/sentry-request-jwt-audiences': 'a,b' } },
  {
    name: 'pluggable components',
    annotations: { 'dapr.io/pluggable-components': 'my-store', 'dapr.io/pluggable-components-sockets-folder': '/sockets', 'dapr.io/inject-pluggable-components': 'false' },
    pod: (p) => ({ ...p, spec: { ...p.spec, containers: [...(p.spec?.containers ?? []), { name: 'my-store', image: 'store' }] } }),
  },
  { name: 'not enabled', annotations: { 'dapr.io/enabled': 'false' } },
  { name: 'already injected', pod: (p) => ({ ...p, spec: { ...p.spec, containers: [...(p.spec?.containers ?? []), { name: 'daprd', image: 'x' }] } }) },
  { name: 'already injected as a native sidecar', annotations: V18, pod: (p) => ({ ...p, spec: { ...p.spec, initContainers: [{ name: 'daprd', image: 'x', restartPolicy: 'Always' }] } }) },
  { name: 'broken numbers and quantities', annotations: { 'dapr.io/app-port': 'eighty', 'dapr.io/sidecar-liveness-probe-threshold': 'x', 'dapr.io/sidecar-cpu-limit': 'lots', 'dapr.io/enable-metrics': 'maybe' } },
  { name: 'broken volume mount and env', annotations: { 'dapr.io/volume-mounts': 'missing:/x', 'dapr.io/env': 'A=1,=x,B' } },
  { name: 'misspelled annotation', annotations: { 'dapr.io/app-prot': '8080' } },
  { name: 'broken log level (our documented denial)', annotations: { 'dapr.io/log-level': 'loud' }, expect: 'ours-denies' },
  { name: 'allow-listed account, UID resolved at start', user: 'listed' },
  { name: 'allow-listed by name, UID not listed at start (1.17 skips)', user: 'unlisted-uid' },
  { name: 'allow-listed by name, UID not listed at start, on 1.18', user: 'unlisted-uid', annotations: V18 },
  { name: 'built-in controller by name only', user: 'builtin-by-name' },
  { name: 'prefix-names entry', user: 'prefix' },
  { name: 'system:masters', user: 'masters' },
  { name: 'a stranger', user: 'stranger' },
];

interface Upstream {
  readonly minor: DaprdMinor;
  readonly port: number;
  readonly process: ManagedProcess;
}

interface Answer {
  readonly allowed: boolean;
  readonly patch: PatchOperation[] | undefined;
  readonly warnings: readonly string[];
}

void describe('injector: the sidecar of the daprd version it injects, against upstream 1.17.5 and 1.18.1', { timeout: 240_000 }, () => {
  let kc: KubeConfig;
  let cp: TestNamespace;
  let apps: TestNamespace;
  let dir: string;
  let anchors: string;
  let listedUid: string;
  let proxy: Server | undefined;
  const processes: ManagedProcess[] = [];
  const upstreams: Upstream[] = [];
  const ours: Partial<Record<DaprdMinor, AdmissionHandlerDeps>> = {};
  /** Every sidecar we built, by version, for the daprd start test. */
  const built: { minor: DaprdMinor; what: string; flags: string[] }[] = [];
  let compared = 0;
  let patchedByBoth = 0;

  const env = (minor: DaprdMinor): Record<string, string> => ({
    SIDECAR_IMAGE: IMAGE(minor),
    NAMESPACE: cp.name,
    KUBE_CLUSTER_DOMAIN: 'cluster.local',
    DAPR_CONTROL_PLANE_TRUST_DOMAIN: TRUST_DOMAIN,
    ALLOWED_SERVICE_ACCOUNTS: `${apps.name}:deployer`,
    ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES: `${apps.name}:runner*`,
  });

  before(async () => {
    const kubeconfigPath = requireTestCluster();
    kc = testKubeConfig();
    dir = mkdtempSync(join(tmpdir(), 'tsdapr-injector-diff-'));
    // A control-plane namespace of our own: upstream reads its daprsystem
    // Configuration there (none: mTLS on, for both), and sidecar addresses name it.
    [cp, apps] = await Promise.all([createTestNamespace('inj-diff-cp', { kubeConfig: kc }), createTestNamespace('inj-diff-apps', { kubeConfig: kc })]);
    const account = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace: apps.name, body: { metadata: { name: 'deployer' } } });
    listedUid = account.metadata?.uid ?? '';
    assert.ok(listedUid !== '');

    const [sentryPort, sentryHealthz, sentryMetrics, proxyPort, ...ports] = await freePorts(10);
    // Our Sentry in Kubernetes mode, as the bench runs it: upstream asks for
    // its SVID with a projected token (Kubernetes validator) bound to a pod.
    let sentryOutput = '';
    const sentry = startProcess({
      name: 'sentry',
      command: process.execPath,
      args: [SENTRY_MAIN, '--mode', 'kubernetes', '--kubeconfig', kubeconfigPath, '--trust-domain', TRUST_DOMAIN, '--port', String(sentryPort), '--listen-address', '127.0.0.1', '--healthz-port', String(sentryHealthz), '--metrics-port', String(sentryMetrics), '--log-level', 'warn'],
      env: { NAMESPACE: cp.name },
      onOutput: (chunk) => (sentryOutput += chunk.toString('utf8')),
    });
    processes.push(sentry);
    await pollUntil(
      'sentry /readyz',
      async () => {
        if (sentry.hasExited()) throw new Error(`sentry exited:\n${sentryOutput.slice(-2000)}`);
        return (await probe(`http://127.0.0.1:${sentryHealthz}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined;
      },
      WAIT,
    );
    anchors = (await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: cp.name, name: 'dapr-trust-bundle' })).data?.['ca.crt'] ?? '';
    assert.match(anchors, /BEGIN CERTIFICATE/);
    writeFileSync(join(dir, 'ca.crt'), anchors);
    await controlPlaneToken(kc, { namespace: cp.name, trustDomain: TRUST_DOMAIN, name: 'injector', tokenFile: join(dir, 'token') });

    proxy = await apiServerProxy(kc, proxyPort ?? 0);
    const upstreamKubeconfig = join(dir, 'upstream.kubeconfig');
    writeFileSync(
      upstreamKubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${proxyPort}` } }],
        users: [{ name: 'u', user: {} }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    );

    await Promise.all(
      DAPRD_MINORS.map(async (minor, i) => {
        const [port, healthz, metrics] = ports.slice(i * 3, i * 3 + 3) as [number, number, number];
        const logFile = join(dir, `upstream-injector-${minor}.log`);
        const child = startProcess({
          name: `upstream injector ${VERSIONS[minor]}`,
          command: binaryPath('upstream-injector', VERSIONS[minor]),
          args: ['--kubeconfig', upstreamKubeconfig, '--port', String(port), '--healthz-port', String(healthz), '--metrics-port', String(metrics), '--log-level', 'warn'],
          env: {
            ...env(minor),
            DAPR_TRUST_ANCHORS_FILE: join(dir, 'ca.crt'),
            DAPR_SENTRY_ADDRESS: `127.0.0.1:${sentryPort}`,
            DAPR_SENTRY_TOKEN_FILE: join(dir, 'token'),
            DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK: 'true',
          },
          logFile,
        });
        processes.push(child);
        await pollUntil(
          `upstream injector ${VERSIONS[minor]} /healthz`,
          async () => {
            if (child.hasExited()) throw new Error(`upstream injector ${VERSIONS[minor]} exited:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
            return (await probe(`http://127.0.0.1:${healthz}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined;
          },
          WAIT,
        );
        upstreams.push({ minor, port, process: child });
      }),
    );

    // Ours: the handler as the service wires it, from the same environment.
    for (const minor of DAPRD_MINORS) {
      const options = parseInjectorOptions(['--kubeconfig', kubeconfigPath], env(minor), { hasServiceAccountToken: () => false });
      const allow = { serviceAccounts: options.allowedServiceAccounts, prefixNames: options.allowedServiceAccountsPrefixNames };
      const uids = await resolveServiceAccountUids(kc, uidAllowList(allow), silentLogger());
      const authorized = versionedAuthorizer(allow, uids);
      const settings: InjectorSettings = { ...options.sidecar, trustAnchorsPem: anchors, mtlsEnabled: true, nativeSidecarsSupported: true };
      ours[minor] = {
        settings: () => settings,
        isAuthorized: (request, version) => authorized(request.userInfo, version),
        metrics: createInjectorMetrics(new Registry()),
        logger: silentLogger(),
      };
    }
  });

  after(async () => {
    for (const child of processes.reverse()) await child.stop(5_000);
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    proxy?.closeAllConnections();
    await Promise.all([cp?.cleanup().catch(() => undefined), apps?.cleanup().catch(() => undefined)]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const userInfo = (user: Case['user']): object => {
    const sa = (ns: string, name: string, uid: string): object => ({ username: `system:serviceaccount:${ns}:${name}`, uid, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`] });
    switch (user ?? 'listed') {
      case 'listed':
        return sa(apps.name, 'deployer', listedUid);
      case 'unlisted-uid':
        return sa(apps.name, 'deployer', 'a-uid-created-after-start');
      case 'builtin-by-name':
        return sa('kube-system', 'job-controller', 'not-the-resolved-uid');
      case 'prefix':
        return sa(apps.name, 'runner-7', 'some-uid');
      case 'masters':
        return { username: 'admin', uid: 'admin-uid', groups: ['system:masters', 'system:authenticated'] };
      default:
        return { username: 'alice', uid: 'alice-uid', groups: ['system:authenticated'] };
    }
  };

  const podOf = (c: Case, index: number): Pod => {
    const base: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `case-${index}`,
        namespace: apps.name,
        labels: { app: 'orders' },
        annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': `app-${index}`, ...c.annotations },
      },
      spec: { containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ containerPort: 8080 }] }] },
    };
    return c.pod ? c.pod(base) : base;
  };

  const review = (pod: Pod, c: Case, index: number): object => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `00000000-0000-0000-0000-${String(index).padStart(12, '0')}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: apps.name,
      operation: 'CREATE',
      userInfo: userInfo(c.user),
      object: pod,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  });

  const askUpstream = async (upstream: Upstream, body: object): Promise<Answer> => {
    const text = await postJson(upstream.port, `dapr-sidecar-injector.${cp.name}.svc`, anchors, body);
    const response = (JSON.parse(text) as { response?: { allowed?: boolean; patch?: string; warnings?: string[] } }).response;
    assert.ok(response, `upstream ${upstream.minor} gave no response: ${text}`);
    return { allowed: response.allowed === true, patch: response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as PatchOperation[]) : undefined, warnings: response.warnings ?? [] };
  };

  const askOurs = (minor: DaprdMinor, body: object): Answer => {
    const deps = ours[minor];
    assert.ok(deps);
    const result = handleAdmissionReview(body, deps);
    const response = (result.body as { response: { allowed: boolean; patch?: string; warnings?: string[] } }).response;
    return { allowed: response.allowed, patch: response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as PatchOperation[]) : undefined, warnings: response.warnings ?? [] };
  };

  void test('the cases cover every annotation in the annotation table', () => {
    assert.ok(CASES.length >= 30, `${CASES.length} cases`);
    const used = new Set(CASES.flatMap((c) => Object.keys(c.annotations ?? {})));
    const missing = Object.values(ANNOTATIONS)
      .map((spec) => spec.key)
      .filter((key) => key !== ANNOTATIONS.enabled.key && key !== ANNOTATIONS.appId.key && !used.has(key));
    assert.deepEqual(missing, []);
  });

  void test('each pod, patched by us and by upstream of its sidecar’s version, is the same pod', async () => {
    const failures: string[] = [];
    await Promise.all(
      CASES.map(async (c, index) => {
        const pod = podOf(c, index);
        const body = review(pod, c, index);
        const theirs = Object.fromEntries(await Promise.all(upstreams.map(async (u) => [u.minor, await askUpstream(u, body)] as const))) as Record<DaprdMinor, Answer>;
        for (const injectorMinor of DAPRD_MINORS) {
          const deps = ours[injectorMinor];
          assert.ok(deps);
          const target = podSidecarVersion(pod, deps.settings()).minor;
          const what = `${c.name} (our SIDECAR_IMAGE ${VERSIONS[injectorMinor]}, sidecar ${target})`;
          const mine = askOurs(injectorMinor, body);
          const reference = theirs[target];
          compared++;
          if (c.expect === 'ours-denies') {
            if (mine.allowed || !reference.allowed) failures.push(`${what}: expected our documented denial, got allowed=${mine.allowed}; upstream allowed=${reference.allowed}`);
            continue;
          }
          if (mine.patch && reference.patch) patchedByBoth++;
          if (mine.allowed !== reference.allowed) failures.push(`${what}: allowed ${mine.allowed}, upstream ${reference.allowed}`);
          const ourPod = mine.patch ? applyJsonPatch(pod, mine.patch) : pod;
          const theirPod = reference.patch ? applyJsonPatch(pod, reference.patch) : pod;
          try {
            assert.deepStrictEqual(ourPod, theirPod);
          } catch (err) {
            failures.push(`${what}:\n${(err as Error).message}`);
          }
          const sidecar = [...(ourPod.spec?.containers ?? []), ...(ourPod.spec?.initContainers ?? [])].find((x) => x.name === 'daprd');
          if (mine.patch && sidecar) built.push({ minor: target, what, flags: daprdFlags(sidecar) });
        }
      }),
    );
    assert.deepEqual(failures, []);
    assert.equal(compared, CASES.length * DAPRD_MINORS.length);
    // Most comparisons are of injected pods (the rest: skipped, unauthorized, denied).
    assert.ok(patchedByBoth >= 70, `only ${patchedByBoth} pods patched by both`);
  });

  void test('the allow-list follows the sidecar version (1.17 skips a name match whose UID was not listed at start)', async () => {
    const c = CASES.find((x) => x.user === 'unlisted-uid' && !x.annotations);
    assert.ok(c);
    const index = CASES.indexOf(c);
    const body = review(podOf(c, index), c, index);
    assert.equal(askOurs('1.17', body).patch, undefined);
    assert.notEqual(askOurs('1.18', body).patch, undefined);
    const [up17, up18] = [upstreams.find((u) => u.minor === '1.17'), upstreams.find((u) => u.minor === '1.18')];
    assert.ok(up17 && up18);
    assert.equal((await askUpstream(up17, body)).patch, undefined);
    assert.notEqual((await askUpstream(up18, body)).patch, undefined);
  });

  void test('every flag the builder can emit is accepted by the real daprd of each version that the table says has it', async () => {
    for (const minor of DAPRD_MINORS) {
      const help = (await runDaprd(minor, ['--help'])).output;
      const listed = new Set([...help.matchAll(/^\s+(--[a-z0-9-]+)/gm)].map((m) => m[1]));
      assert.ok(listed.size > 30, `daprd ${VERSIONS[minor]} --help listed ${listed.size} flags`);
      for (const flag of Object.keys(DAPRD_FLAG_SINCE) as DaprdFlag[]) {
        // Deprecated flags (--app-ssl...) are accepted but not listed: ask daprd itself.
        const accepted = listed.has(flag) || !(await runDaprd(minor, [`${flag}=`, '--mode', 'kubernetes'])).output.includes('unknown flag');
        assert.equal(accepted, flagSupported(flag, minor), `daprd ${VERSIONS[minor]} ${accepted ? 'accepts' : 'does not accept'} ${flag}; the table says otherwise`);
      }
    }
  });

  void test('a real daprd of each version starts with the flags we emitted for every pod', async () => {
    assert.ok(built.length >= 50, `only ${built.length} sidecars built`);
    for (const minor of DAPRD_MINORS) assert.ok(built.some((b) => b.minor === minor), `no ${minor} sidecar`);
    const failures: string[] = [];
    // Two at a time: each exits by itself right after parsing its flags (it refuses root in Kubernetes mode).
    for (let i = 0; i < built.length; i += 2) {
      await Promise.all(
        built.slice(i, i + 2).map(async ({ minor, what, flags }) => {
          const run = await runDaprd(minor, flags);
          if (!run.output.includes(`Starting Dapr Runtime -- version ${VERSIONS[minor]}`)) failures.push(`${what}: daprd ${VERSIONS[minor]} did not start:\n${run.output.slice(0, 600)}\nflags: ${flags.join(' ')}`);
        }),
      );
    }
    assert.deepEqual(failures, []);
  });
});

/** The daprd flags of a sidecar container: after `/daprd`, or after `--` when it runs under dlv. */
function daprdFlags(container: Container): string[] {
  const all = [...(container.command ?? []), ...(container.args ?? [])];
  const dashDash = all.indexOf('--');
  if (dashDash >= 0) return all.slice(dashDash + 1);
  assert.equal(all[0], '/daprd');
  return all.slice(1);
}

/**
 * Runs a real daprd until it has parsed its flags (it logs "Starting Dapr
 * Runtime", or exits with a flag error), or 10 s; its output. As root it
 * exits there by itself (Kubernetes mode refuses root); otherwise it is stopped.
 */
async function runDaprd(minor: DaprdMinor, args: string[]): Promise<{ output: string }> {
  let output = '';
  let parsed: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (parsed = resolve));
  const child = startProcess({
    name: `daprd ${VERSIONS[minor]}`,
    command: binaryPath('daprd', VERSIONS[minor]),
    args,
    env: { NAMESPACE: 'shop', POD_NAME: 'p', DAPR_TRUST_ANCHORS: '' },
    onOutput: (chunk) => {
      output += chunk.toString('utf8');
      if (output.includes('Starting Dapr Runtime')) parsed();
    },
  });
  const timer = setTimeout(parsed, 10_000);
  await Promise.race([child.exited, started]);
  clearTimeout(timer);
  await child.stop(2_000);
  return { output };
}

function postJson(port: number, servername: string, ca: string, body: object): Promise<string> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/mutate', method: 'POST', servername, ca, headers: { 'content-type': 'application/json', 'content-length': payload.length }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8')}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Plain HTTP in front of the test cluster's API server, with the test's
 * credentials; the PATCH of the hard-coded `dapr-sidecar-injector` webhook
 * configuration is answered here, so the cluster's own is never touched.
 */
async function apiServerProxy(kc: KubeConfig, port: number): Promise<Server> {
  const cluster = kc.getCurrentCluster();
  assert.ok(cluster);
  const target = new URL(cluster.server);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'PATCH' && (req.url ?? '').startsWith('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/dapr-sidecar-injector')) {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'dapr-sidecar-injector' }, webhooks: [] }));
      return;
    }
    const headers = { ...req.headers, host: target.host };
    const options: RequestOptions = { host: target.hostname, port: target.port, path: req.url, method: req.method, headers };
    void kc.applyToHTTPSOptions(options).then(() => {
      const upstream = httpsRequest(options, (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      });
      upstream.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err));
      });
      req.pipe(upstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}
