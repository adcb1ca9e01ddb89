import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, V1MicroTime, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { createTestNamespace, pollUntil, repoRoot, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import yaml from 'js-yaml';

/**
 * Creates in a fresh namespace what `tsdapr status` reads (the chart's
 * workloads, the trust bundle with a root expiring in 30 days, the placement
 * Lease, a Component, a Dapr pod without daprd) and runs the built command
 * against the real API server.
 */
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface StatusJson {
  controlPlaneNamespace: string;
  workloads: { service: string; kind: string; name: string; found: boolean; replicas: number; ready: number; version?: string; quorum?: number }[];
  trust: { anchors: { daysLeft: number; warning: boolean; subject: string }[]; issuer?: { daysLeft: number; warning: boolean }; notes: string[] };
  placement: { leader?: string; namespaces?: unknown[]; notes: string[] };
  components?: { namespace: string; components: { name: string; type: string }[] }[];
  podsWithoutSidecar?: { namespace: string; name: string }[];
  warnings: string[];
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : err ? 1 : 0, stdout, stderr }));
  });
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (err, _stdout, stderr) => (err ? reject(new Error(`openssl ${args.join(' ')}: ${stderr}`, { cause: err })) : resolve()));
  });
}

async function selfSigned(dir: string, name: string, days: number, subject: string): Promise<string> {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', String(days), '-subj', subject]);
  return readFileSync(crt, 'utf8');
}

async function ensureComponentCrd(kc: KubeConfig): Promise<void> {
  const crd = yaml.load(readFileSync(join(repoRoot(), 'crds', 'components.yaml'), 'utf8')) as KubernetesObject;
  try {
    await KubernetesObjectApi.makeApiClient(kc).create(crd);
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  await pollUntil('components.dapr.io served', async () => {
    try {
      await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: 'dapr.io', version: 'v1alpha1', plural: 'components' });
      return true;
    } catch {
      return undefined;
    }
  }, { timeoutMs: 30_000 });
}

describe('tsdapr status against the real API server', () => {
  let kubeconfigPath: string;
  let kc: KubeConfig;
  let ns: TestNamespace;
  let dir: string;

  before(async () => {
    kubeconfigPath = requireTestCluster();
    kc = testKubeConfig();
    ns = await createTestNamespace('status');
    dir = mkdtempSync(join(tmpdir(), 'tsdapr-status-'));
    const namespace = ns.name;
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const template = (app: string, args: string[] = []): { metadata: { labels: Record<string, string> }; spec: { containers: { name: string; image: string; args: string[] }[] } } => ({
      metadata: { labels: { app } },
      spec: { containers: [{ name: app, image: 'ghcr.io/tsdapr/tsdapr:9.9.9', args }] },
    });
    for (const name of ['dapr-sentry', 'dapr-operator', 'dapr-sidecar-injector']) {
      await apps.createNamespacedDeployment({ namespace, body: { metadata: { name }, spec: { replicas: name === 'dapr-sentry' ? 2 : 1, selector: { matchLabels: { app: name } }, template: template(name) } } });
    }
    await apps.createNamespacedStatefulSet({
      namespace,
      body: { metadata: { name: 'dapr-placement-server' }, spec: { serviceName: 'dapr-placement-server', replicas: 1, selector: { matchLabels: { app: 'dapr-placement-server' } }, template: template('dapr-placement-server', ['--metadata-enabled=true', '--healthz-port=8080']) } },
    });
    await apps.createNamespacedStatefulSet({
      namespace,
      body: { metadata: { name: 'dapr-scheduler-server' }, spec: { serviceName: 'dapr-scheduler-server', replicas: 3, selector: { matchLabels: { app: 'dapr-scheduler-server' } }, template: template('dapr-scheduler-server', ['--etcd-embed=true', '--id=$(SCHEDULER_ID)']) } },
    });
    const root = await selfSigned(dir, 'root', 30, '/O=cluster.local');
    const issuer = await selfSigned(dir, 'issuer', 400, '/O=cluster.local/CN=issuer');
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'dapr-trust-bundle' }, data: { 'ca.crt': root } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'dapr-trust-bundle' }, type: 'Opaque', stringData: { 'ca.crt': root, 'issuer.crt': issuer, 'issuer.key': 'unused' } } });
    await kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
      namespace,
      body: { metadata: { name: 'dapr-placement-leader' }, spec: { holderIdentity: 'dapr-placement-server-0', leaseDurationSeconds: 5, renewTime: new V1MicroTime() } },
    });
    await ensureComponentCrd(kc);
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'dapr.io',
      version: 'v1alpha1',
      namespace,
      plural: 'components',
      body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'statestore' }, spec: { type: 'state.redis', version: 'v1', metadata: [] } },
    });
    await core.createNamespacedPod({ namespace, body: { metadata: { name: 'no-sidecar', annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } });
  });

  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (ns) await ns.cleanup();
  });

  test('-o json', async () => {
    const result = await run(['status', '-o', 'json', '--kubeconfig', kubeconfigPath, '-n', ns.name]);
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout) as StatusJson;
    assert.equal(status.controlPlaneNamespace, ns.name);
    const sentry = status.workloads.find((w) => w.service === 'sentry');
    assert.deepEqual([sentry?.found, sentry?.replicas, sentry?.ready, sentry?.version], [true, 2, 0, '9.9.9']);
    assert.ok(status.workloads.every((w) => w.found));
    assert.equal(status.trust.anchors.length, 1);
    assert.equal(status.trust.anchors[0]?.warning, true, 'the root expires within 60 days');
    assert.ok((status.trust.anchors[0]?.daysLeft ?? 0) >= 28 && (status.trust.anchors[0]?.daysLeft ?? 0) <= 30);
    assert.equal(status.trust.issuer?.warning, false);
    assert.equal(status.placement.leader, 'dapr-placement-server-0');
    assert.equal(status.placement.namespaces, undefined, 'no kubelet: the leader pod cannot be reached');
    assert.ok(status.placement.notes.some((n) => /not reachable through the API server's pod proxy/.test(n)), status.placement.notes.join('\n'));
    assert.deepEqual(status.components?.find((c) => c.namespace === ns.name)?.components, [{ name: 'statestore', type: 'state.redis' }]);
    assert.deepEqual(status.podsWithoutSidecar?.filter((p) => p.namespace === ns.name).map((p) => p.name), ['no-sidecar']);
    assert.ok(status.warnings.some((w) => /trust anchor .* expires in (28|29|30) days/.test(w)), status.warnings.join('\n'));
    assert.ok(status.warnings.includes('dapr-sentry: 0 of 2 replicas ready'));
    const scheduler = status.workloads.find((w) => w.service === 'scheduler');
    assert.deepEqual([scheduler?.kind, scheduler?.name, scheduler?.replicas, scheduler?.ready, scheduler?.quorum], ['StatefulSet', 'dapr-scheduler-server', 3, 0, 2]);
    assert.ok(status.warnings.some((w) => /^dapr-scheduler-server: 0 of 3 replicas ready, below the 2 its embedded etcd needs for a quorum/.test(w)), status.warnings.join('\n'));
  });

  test('table', async () => {
    const result = await run(['status', '--kubeconfig', kubeconfigPath, '--control-plane-namespace', ns.name]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /sentry +Deployment +dapr-sentry +0\/2 +\d+ +9\.9\.9 +no/);
    assert.match(result.stdout, /scheduler +StatefulSet +dapr-scheduler-server +0\/3 +\d+ +9\.9\.9 +no/);
    assert.match(result.stdout, /trust anchor +O ?= ?cluster\.local .*WARNING: expires in (28|29|30) days/);
    assert.match(result.stdout, /leader: dapr-placement-server-0/);
    assert.match(result.stdout, new RegExp(`${ns.name} +1 +statestore \\(state\\.redis\\)`));
    assert.match(result.stdout, new RegExp(`${ns.name} +no-sidecar +Pending`));
  });

  test('a kubeconfig that does not exist fails with the reason', async () => {
    const result = await run(['--kubeconfig', join(dir, 'missing.kubeconfig')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /kubeconfig file ".*missing\.kubeconfig" does not exist/);
  });
});
