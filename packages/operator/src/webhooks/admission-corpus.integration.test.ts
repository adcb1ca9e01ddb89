/**
 * Issue #19: admission accepts every resource upstream accepts. Each
 * resource of e2e/admission-corpus/ is created with a server-side dry run
 * twice: on the test cluster with our CRDs and our validating webhook, and on
 * a second API server (its own etcd, no controller manager) with upstream
 * 1.17.5's CRDs, read from the daprd 1.17 Go module in the module cache. The
 * outcomes must agree wherever upstream accepts, except for denied.yaml,
 * whose every resource daprd 1.17 cannot load: daprd is started on them and
 * must log the error each names.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { createTestNamespace, pollUntil, repoRoot, requireTestCluster, startCluster, startDaprd, testKubeConfig, type Cluster, type TestNamespace } from '@tsdapr/e2e-harness';
import { installCrds } from '../test-support/install-crds.js';
import { kubeRequest, statusMessage, type RawResponse } from '../test-support/kube-http.js';
import { startOperatorInNamespace, type OperatorProcess } from '../test-support/operator-process.js';

type Body = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: unknown };

const UPSTREAM_VERSION = 'v1.17.5';
const CORPUS = join(repoRoot(), 'e2e', 'admission-corpus');
const WARNING = 'corpus.tsdapr.io/warning';
const DENIED = 'corpus.tsdapr.io/denied';
const DAPRD_ERROR = 'corpus.tsdapr.io/daprd-error';
const PLURAL: Record<string, string> = { Component: 'components', Subscription: 'subscriptions', Resiliency: 'resiliencies', Configuration: 'configurations', HTTPEndpoint: 'httpendpoints' };
const WAIT = { timeoutMs: 30_000 } as const;

interface Entry {
  readonly file: string;
  readonly body: Body;
}

function corpus(): Entry[] {
  return readdirSync(CORPUS)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) => (loadAll(readFileSync(join(CORPUS, file), 'utf8')) as Body[]).filter(Boolean).map((body) => ({ file, body })));
}

const dryRunPath = (body: Body, namespace: string): string => `/apis/${body.apiVersion}/namespaces/${namespace}/${PLURAL[body.kind]}?dryRun=All`;

async function upstreamCrds(): Promise<unknown[]> {
  const modCache = await promisify(execFile)('go', ['env', 'GOMODCACHE']).then((r) => r.stdout.trim()).catch(() => join(homedir(), 'go', 'pkg', 'mod'));
  const dir = join(modCache, 'github.com', 'dapr', `dapr@${UPSTREAM_VERSION}`, 'charts', 'dapr', 'crds');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => loadAll(readFileSync(join(dir, f), 'utf8')))
    .filter(Boolean)
    .map((crd) => {
      const spec = (crd as { spec: Record<string, unknown> }).spec;
      // Nothing serves upstream's conversion webhook here; the dry runs test admission, not conversion.
      return spec['conversion'] ? { ...(crd as object), spec: { ...spec, conversion: { strategy: 'None' } } } : crd;
    });
}

describe('admission corpus: we accept what upstream 1.17 accepts', { timeout: 120_000 }, () => {
  let ours: KubeConfig;
  let upstream: Cluster | undefined;
  let upstreamConfig: KubeConfig;
  let ns: TestNamespace;
  let operator: OperatorProcess | undefined;
  let configName: string;
  const entries = corpus();
  const results = new Map<Body, { ours: RawResponse; upstream: RawResponse }>();
  let upstreamReady: Promise<void> | undefined;

  before(async () => {
    requireTestCluster();
    ours = testKubeConfig();
    const started = Date.now();
    // The second API server starts while ours is set up.
    upstreamReady = (async () => {
      upstream = await startCluster({ controllerManager: false });
      upstreamConfig = upstream.kubeConfig();
      for (const crd of await upstreamCrds()) {
        const created = await kubeRequest(upstreamConfig, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
        assert.equal(created.status, 201, statusMessage(created));
      }
      // Established CRDs take a moment to be served: a dry run that reaches admission says so.
      await pollUntil('upstream CRDs served', async () => {
        const statuses = await Promise.all(Object.values(PLURAL).map((plural) => kubeRequest(upstreamConfig, 'GET', `/apis/dapr.io/v1alpha1/namespaces/default/${plural}`)));
        return statuses.every((r) => r.status === 200) ? true : undefined;
      }, WAIT);
    })();
    await installCrds(ours);
    ns = await createTestNamespace('corpus');
    configName = `tsdapr-it-${ns.name}`;
    operator = await startOperatorInNamespace(ns.name, ['--webhook-registration', 'url', '--validating-webhook-configuration-name', configName, '--disable-service-reconciler', '--disable-component-status', '--webhook-registration-resync-period', '2s']);
    await pollUntil('the API server calling our validating webhook', async () => {
      const dry = await kubeRequest(ours, 'POST', `/apis/dapr.io/v1alpha1/namespaces/${ns.name}/components?dryRun=All`, { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'probe' }, spec: { type: 'probe.x', version: 'v1', metadata: [] } });
      return dry.warnings.some((w) => w.includes('spec.type "probe.x" has no category')) ? true : undefined;
    }, WAIT);
    await upstreamReady;
    console.log(`set up in ${Date.now() - started} ms`);
    const t0 = Date.now();
    const queue = [...entries];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let entry = queue.shift(); entry; entry = queue.shift()) {
          const body = entry.body;
          const [a, b] = await Promise.all([kubeRequest(ours, 'POST', dryRunPath(body, ns.name), body), kubeRequest(upstreamConfig, 'POST', dryRunPath(body, 'default'), body)]);
          results.set(body, { ours: a, upstream: b });
        }
      }),
    );
    console.log(`${entries.length} resources dry-run on both API servers in ${Date.now() - t0} ms`);
  });
  after(async () => {
    await operator?.stop();
    await ours?.makeApiClient(AdmissionregistrationV1Api).deleteValidatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    await ns?.cleanup();
    await upstreamReady?.catch(() => undefined);
    await upstream?.stop();
  });

  const accepted = (r: RawResponse): boolean => r.status === 201 || r.status === 200;
  const describeEntry = (e: Entry): string => `${e.file} ${e.body.kind} ${e.body.metadata.name}`;

  test('the corpus holds at least 150 resources of every kind', () => {
    assert.ok(entries.length >= 150, `${entries.length} resources`);
    assert.deepEqual([...new Set(entries.map((e) => e.body.kind))].sort(), Object.keys(PLURAL).sort());
    assert.ok(entries.some((e) => e.body.apiVersion === 'dapr.io/v2alpha1') && entries.some((e) => e.body.kind === 'Subscription' && e.body.apiVersion === 'dapr.io/v1alpha1'));
  });

  test('no resource upstream accepts is refused by us, except the ones daprd cannot load (denied.yaml)', () => {
    const counts = { total: entries.length, upstreamAccepts: 0, upstreamRefuses: 0, oursAccepts: 0, oursRefuses: 0, upstreamAcceptsWeRefuse: 0, weAcceptUpstreamRefuses: 0 };
    const disagreements: string[] = [];
    for (const entry of entries) {
      const { ours: a, upstream: b } = results.get(entry.body)!;
      counts[accepted(b) ? 'upstreamAccepts' : 'upstreamRefuses']++;
      counts[accepted(a) ? 'oursAccepts' : 'oursRefuses']++;
      if (accepted(b) && !accepted(a)) {
        counts.upstreamAcceptsWeRefuse++;
        if (entry.file !== 'denied.yaml') disagreements.push(`${describeEntry(entry)}: ${statusMessage(a)}`);
      }
      if (!accepted(b) && accepted(a)) counts.weAcceptUpstreamRefuses++;
    }
    console.log(JSON.stringify(counts));
    assert.deepEqual(disagreements, [], 'upstream accepts, we refuse');
  });

  test('each file holds what its name says: accepted by both, refused by both, or denied by us alone', () => {
    const wrong: string[] = [];
    for (const entry of entries) {
      const { ours: a, upstream: b } = results.get(entry.body)!;
      const want = entry.file === 'refused-by-both.yaml' ? [false, false] : entry.file === 'denied.yaml' ? [false, true] : [true, true];
      if (accepted(a) !== want[0] || accepted(b) !== want[1]) wrong.push(`${describeEntry(entry)}: ours ${a.status} ${accepted(a) ? '' : statusMessage(a)}; upstream ${b.status} ${accepted(b) ? '' : statusMessage(b)}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('admitted resources carry the warnings the corpus expects (AdmissionReview warnings, as kubectl shows them)', () => {
    const annotated = entries.filter((e) => e.body.metadata.annotations?.[WARNING]);
    assert.ok(annotated.length >= 10, `${annotated.length} resources expect a warning`);
    for (const entry of annotated) {
      const { ours: a } = results.get(entry.body)!;
      const expected = entry.body.metadata.annotations![WARNING]!;
      assert.ok(a.warnings.some((w) => w.includes(expected)), `${describeEntry(entry)}: expected a warning containing ${JSON.stringify(expected)}, got ${JSON.stringify(a.warnings)}`);
    }
  });

  test('every denial names its reason, and daprd 1.17 really cannot load the resource', { timeout: 60_000 }, async () => {
    const denied = entries.filter((e) => e.file === 'denied.yaml');
    assert.ok(denied.length >= 5);
    for (const entry of denied) {
      const message = statusMessage(results.get(entry.body)!.ours);
      assert.ok(message.includes(entry.body.metadata.annotations![DENIED]!), `${describeEntry(entry)}: ${message}`);
    }
    // One file per resource: daprd's resiliency loader reads one document per file.
    const dir = mkdtempSync(join(tmpdir(), 'tsdapr-corpus-'));
    for (const entry of denied) writeFileSync(join(dir, `${entry.body.metadata.name}.yaml`), JSON.stringify(entry.body));
    const second = await startDaprd({ appId: 'corpus', version: UPSTREAM_VERSION.slice(1), args: [`--resources-path=${dir}`] });
    try {
      await pollUntil('daprd to refuse every denied resource', async () => {
        const logs = second.logs();
        return denied.every((e) => logs.includes(`Could not read resiliency policy ${e.body.metadata.name}: `) && logs.includes(e.body.metadata.annotations![DAPRD_ERROR]!)) ? true : undefined;
      }, WAIT).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${second.logs().split('\n').filter((l) => l.includes('resiliency')).join('\n')}`, { cause: err });
      });
      for (const entry of denied) {
        const line = second.logs().split('\n').find((l) => l.includes(`Could not read resiliency policy ${entry.body.metadata.name}: `));
        assert.ok(line?.includes(entry.body.metadata.annotations![DAPRD_ERROR]!), `${entry.body.metadata.name}: ${line}`);
      }
    } finally {
      await second.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
