import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AdmissionregistrationV1Api, ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { nodeSupport, pollUntil } from '@tsdapr/e2e-harness';
import { helmOk } from './helm.js';
import {
  applyManifest,
  CONTROL_PLANE_NAMESPACE,
  installChart,
  isReady,
  nodeValues,
  RELEASE,
  sampleManifest,
  startNodeCluster,
  TSDAPR_TAG,
  waitForWorkloads,
  type NodeCluster,
} from './node-install.js';

/**
 * The user's path on real pods: `helm install` of the chart with images built
 * here, into a cluster whose node (kubelet + containerd) runs them; the sample
 * apps of samples/apps with their injected upstream daprd; then day-2
 * operations. The cluster is this file's own (the shared test cluster has no
 * node, and its other tests stand in for pods with local processes).
 * Steps run in order: each builds on the one before.
 */
const support = nodeSupport();
const APPS_NAMESPACE = 'shop';
const STEP_TIMEOUT_MS = 240_000;

describe('the chart on a real node: install, sample apps, day-2', { skip: support.ok ? false : support.reason, timeout: 40 * 60_000 }, () => {
  let env: NodeCluster;
  let kc: KubeConfig;

  before(async () => {
    // Another test file's node may be running (files run two at a time): wait for it.
    env = await startNodeCluster({ lockWaitMs: 15 * 60_000 });
    kc = env.kc;
  }, { timeout: 25 * 60_000 });

  after(async () => {
    await env?.stop();
  }, { timeout: 120_000 });

  test('helm install: every control-plane pod becomes Ready through its own probes', { timeout: STEP_TIMEOUT_MS }, async (t) => {
    const started = Date.now();
    await installChart(env.cluster, nodeValues());
    await waitForWorkloads(kc, CONTROL_PLANE_NAMESPACE);
    const pods = await podsIn(kc, CONTROL_PLANE_NAMESPACE);
    // For the record: when each pod turned Ready, and why any restarted (a service that gets no SVID in time exits, as upstream's do).
    t.diagnostic(`control plane Ready ${((Date.now() - started) / 1000).toFixed(1)} s after helm install`);
    for (const pod of pods) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
      const restarts = pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
      t.diagnostic(`${pod.metadata?.name}: Ready ${ready ? ((new Date(ready).getTime() - started) / 1000).toFixed(1) : '?'} s after install, ${restarts} restarts`);
      if (restarts > 0) {
        const log = await kc.makeApiClient(CoreV1Api).readNamespacedPodLog({ name: pod.metadata?.name ?? '', namespace: CONTROL_PLANE_NAMESPACE, previous: true, tailLines: 5 }).catch((err: unknown) => String(err));
        t.diagnostic(`  its previous run ended with: ${log.trim().split('\n').join(' | ')}`);
      }
    }
    const names = pods.map((pod) => pod.metadata?.labels?.['app'] ?? '').sort();
    assert.deepEqual(names, ['dapr-operator', 'dapr-placement-server', 'dapr-scheduler-server', 'dapr-sentry', 'dapr-sidecar-injector']);
    for (const pod of pods) {
      const container = pod.spec?.containers[0];
      assert.equal(container?.image, `localhost/tsdapr/tsdapr:${TSDAPR_TAG}`, pod.metadata?.name);
      // Ready came from the kubelet running the chart's probes against the real ports.
      assert.ok(container?.readinessProbe?.httpGet, `${pod.metadata?.name} has an HTTP readiness probe`);
      assert.ok(isReady(pod), pod.metadata?.name);
      assert.equal(container?.securityContext?.readOnlyRootFilesystem, true, `${pod.metadata?.name} runs with a read-only root file system`);
      assert.equal(pod.spec?.securityContext?.runAsNonRoot ?? container?.securityContext?.runAsNonRoot, true, `${pod.metadata?.name} runs as non-root`);
    }
  });

  test('the sample apps get their sidecars, which start against the control plane in pods', { timeout: STEP_TIMEOUT_MS }, async () => {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: APPS_NAMESPACE } } });
    await applyManifest(kc, sampleManifest('components.yaml'), APPS_NAMESPACE);
    await applyManifest(kc, sampleManifest('apps.yaml'), APPS_NAMESPACE);
    await waitForWorkloads(kc, APPS_NAMESPACE);
    for (const app of ['orders', 'checkout']) {
      const pod = await appPod(kc, app);
      const sidecar = pod.spec?.containers.find((c) => c.name === 'daprd');
      assert.ok(sidecar, `${app} has an injected daprd container`);
      assert.equal(sidecar.image, 'localhost/tsdapr/daprd:1.17.5');
      // The sidecar reaches sentry by its Service's DNS name (CoreDNS), not an IP.
      assert.ok(sidecar.args?.includes(`dapr-sentry.${CONTROL_PLANE_NAMESPACE}.svc.cluster.local:443`), `${app}'s daprd is given sentry's DNS name: ${sidecar.args?.join(' ')}`);
      assert.equal(pod.status?.containerStatuses?.find((c) => c.name === 'daprd')?.ready, true, `${app}'s daprd is Ready`);
    }
    // The operator made each app's <app-id>-dapr Service.
    const services = (await kc.makeApiClient(CoreV1Api).listNamespacedService({ namespace: APPS_NAMESPACE })).items.map((s) => s.metadata?.name).sort();
    assert.deepEqual(services, ['checkout-dapr', 'orders-dapr']);
    // Sentry signed both sidecars' certificates (and the control plane's).
    const metrics = await httpText(`http://${(await onePod(kc, CONTROL_PLANE_NAMESPACE, 'dapr-sentry')).status?.podIP}:9090/metrics`);
    assert.ok(metricSum(metrics, 'dapr_sentry_cert_sign_success_total') >= 2, 'sentry counted its signings');
  });

  test('service invocation: checkout calls orders through both sidecars (the orders-dapr Service, by DNS)', { timeout: STEP_TIMEOUT_MS }, async () => {
    const checkout = await appUrl(kc, 'checkout');
    const answer = await pollUntil('checkout -> orders', async () => okText(await call(`${checkout}/call/orders/hello`, 'POST')), { timeoutMs: 60_000 });
    assert.match(answer, /^hello from orders \(orders-/);
  });

  test('state: saved and read back through the operator-delivered statestore Component', { timeout: STEP_TIMEOUT_MS }, async () => {
    const orders = await appUrl(kc, 'orders');
    okText(await call(`${orders}/state/order-1`, 'PUT', 'two coffees'));
    assert.equal(JSON.parse(okText(await call(`${orders}/state/order-1`, 'GET'))), 'two coffees');
  });

  test('pub/sub: a message published is delivered through the Subscription', { timeout: STEP_TIMEOUT_MS }, async () => {
    const orders = await appUrl(kc, 'orders');
    okText(await call(`${orders}/publish/orders`, 'POST', 'order 7'));
    await pollUntil('the orders topic delivery', async () => {
      const received = JSON.parse(okText(await call(`${orders}/received`, 'GET'))) as Array<{ message: string }>;
      return received.some((m) => m.message === 'order 7') ? true : undefined;
    }, { timeoutMs: 30_000 });
  });

  test('actors: checkout calls a Counter actor hosted by orders (placement in a pod)', { timeout: STEP_TIMEOUT_MS }, async () => {
    const checkout = await appUrl(kc, 'checkout');
    const first = await pollUntil('an actor call through placement', async () => JSON.parse(okText(await call(`${checkout}/actor/Counter/c-1/increment`, 'POST'))) as { calls: number; host: string }, { timeoutMs: 60_000 });
    assert.match(first.host, /^orders-/);
    const second = JSON.parse(okText(await call(`${checkout}/actor/Counter/c-1/increment`, 'POST'))) as { calls: number };
    assert.equal(second.calls, first.calls + 1);
  });

  test('scheduler: an actor reminder and a job are delivered to orders', { timeout: STEP_TIMEOUT_MS }, async () => {
    const orders = await appUrl(kc, 'orders');
    await pollUntil('reminder accepted', async () => okText(await call(`${orders}/reminder/c-9/nudge`, 'POST')), { timeoutMs: 60_000 });
    okText(await call(`${orders}/job/schedule/nightly`, 'POST'));
    await pollUntil('reminder and job delivered', async () => {
      const reminders = JSON.parse(okText(await call(`${orders}/reminders`, 'GET'))) as string[];
      const jobs = JSON.parse(okText(await call(`${orders}/jobs`, 'GET'))) as string[];
      return reminders.includes('c-9/nudge') && jobs.includes('nightly') ? true : undefined;
    }, { timeoutMs: 60_000 });
  });

  test('a daprd 1.18 sidecar (dapr.io/sidecar-image) beside the 1.17 ones: invocation and actors across versions', { timeout: STEP_TIMEOUT_MS }, async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const checkout = await apps.readNamespacedDeployment({ name: 'checkout', namespace: APPS_NAMESPACE });
    const template = checkout.spec?.template;
    assert.ok(template?.spec);
    await apps.createNamespacedDeployment({
      namespace: APPS_NAMESPACE,
      body: {
        metadata: { name: 'checkout-next', labels: { app: 'checkout-next' } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'checkout-next' } },
          template: {
            metadata: {
              labels: { app: 'checkout-next' },
              annotations: { ...template.metadata?.annotations, 'dapr.io/app-id': 'checkout-next', 'dapr.io/sidecar-image': 'localhost/tsdapr/daprd:1.18.1' },
            },
            spec: { ...template.spec, containers: template.spec.containers.map((c) => ({ ...c, env: [{ name: 'APP_ID', value: 'checkout-next' }] })) },
          },
        },
      },
    });
    await waitForWorkloads(kc, APPS_NAMESPACE);
    const pod = await appPod(kc, 'checkout-next');
    assert.equal(pod.spec?.containers.find((c) => c.name === 'daprd')?.image, 'localhost/tsdapr/daprd:1.18.1');
    const next = await appUrl(kc, 'checkout-next');
    assert.match(await pollUntil('checkout-next -> orders', async () => okText(await call(`${next}/call/orders/hello`, 'POST')), { timeoutMs: 60_000 }), /^hello from orders/);
    const actor = await pollUntil('an actor call from the 1.18 sidecar', async () => JSON.parse(okText(await call(`${next}/actor/Counter/c-18/increment`, 'POST'))) as { host: string }, { timeoutMs: 60_000 });
    assert.match(actor.host, /^orders-/);
  });

  test('the scheduler pod deleted: a job scheduled before it went is still delivered (its etcd on a hostPath volume)', { timeout: STEP_TIMEOUT_MS }, async () => {
    const orders = await appUrl(kc, 'orders');
    // With data: daprd 1.17 cannot deliver a job scheduled over HTTP without any (it stores an empty
    // google.protobuf.Value and fails to encode it at each trigger: dapr/dapr pkg/api/universal/jobs.go).
    okText(await call(`${orders}/job/schedule/after-restart`, 'POST', JSON.stringify({ dueTime: '25s', data: { note: 'scheduled before the restart' } })));
    await replacePod(kc, 'dapr-scheduler-server');
    await pollUntil('the job delivered after the restart', async () => ((JSON.parse(okText(await call(`${orders}/jobs`, 'GET'))) as string[]).includes('after-restart') ? true : undefined), { timeoutMs: 90_000 });
  });

  test('helm upgrade to a new image tag rolls every control-plane pod while the apps keep serving', { timeout: STEP_TIMEOUT_MS * 2 }, async () => {
    await env.node.tagImage(`localhost/tsdapr/tsdapr:${TSDAPR_TAG}`, 'localhost/tsdapr/tsdapr:next');
    const before = new Set((await podsIn(kc, CONTROL_PLANE_NAMESPACE)).map((pod) => pod.metadata?.uid));
    const traffic = steadyTraffic(await appUrl(kc, 'checkout'));
    try {
      await installChart(env.cluster, nodeValues({ tag: 'next' }), { upgrade: true });
      await waitForWorkloads(kc, CONTROL_PLANE_NAMESPACE);
    } finally {
      await traffic.stop();
    }
    const pods = await podsIn(kc, CONTROL_PLANE_NAMESPACE);
    for (const pod of pods) {
      assert.ok(!before.has(pod.metadata?.uid), `${pod.metadata?.name} was replaced`);
      assert.equal(pod.spec?.containers[0]?.image, 'localhost/tsdapr/tsdapr:next');
    }
    assert.ok(traffic.ok > 10, `calls made during the roll: ${traffic.ok}`);
    assert.deepEqual(traffic.failures, [], 'no call failed during the roll');
  });

  test('the placement pod deleted: the StatefulSet recreates it and actor calls keep working', { timeout: STEP_TIMEOUT_MS }, async () => {
    await replacePod(kc, 'dapr-placement-server');
    const checkout = await appUrl(kc, 'checkout');
    const answer = await pollUntil('an actor call after the placement restart', async () => JSON.parse(okText(await call(`${checkout}/actor/Counter/c-2/increment`, 'POST'))) as { host: string }, { timeoutMs: 60_000 });
    assert.match(answer.host, /^orders-/);
  });

  test('helm uninstall removes the control plane and its cluster-wide objects, and keeps what upstream keeps', { timeout: STEP_TIMEOUT_MS }, async () => {
    await helmOk(['uninstall', RELEASE, '--namespace', CONTROL_PLANE_NAMESPACE, '--kubeconfig', env.cluster.kubeconfigPath, '--wait', '--timeout', '3m'], { timeoutMs: 200_000 });
    await pollUntil('no control-plane pod left', async () => ((await podsIn(kc, CONTROL_PLANE_NAMESPACE)).length === 0 ? true : undefined), { timeoutMs: 120_000 });
    const apps = kc.makeApiClient(AppsV1Api);
    assert.deepEqual((await apps.listNamespacedDeployment({ namespace: CONTROL_PLANE_NAMESPACE })).items, []);
    assert.deepEqual((await apps.listNamespacedStatefulSet({ namespace: CONTROL_PLANE_NAMESPACE })).items, []);
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    assert.deepEqual((await admission.listMutatingWebhookConfiguration()).items.map((w) => w.metadata?.name), []);
    assert.deepEqual((await admission.listValidatingWebhookConfiguration()).items.map((w) => w.metadata?.name), []);
    const roles = (await kc.makeApiClient(RbacAuthorizationV1Api).listClusterRole()).items.map((r) => r.metadata?.name ?? '');
    assert.deepEqual(roles.filter((name) => name.startsWith('dapr')), []);
    // What upstream leaves too: the CRDs (upstream ships them in crds/, which helm never deletes;
    // ours carry helm.sh/resource-policy: keep) with the users' resources, and the scheduler's PVCs.
    const crds = (await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition()).items.map((c) => c.metadata?.name ?? '');
    assert.deepEqual(crds.filter((name) => name.endsWith('.dapr.io')).sort(), ['components.dapr.io', 'configurations.dapr.io', 'httpendpoints.dapr.io', 'resiliencies.dapr.io', 'subscriptions.dapr.io']);
    const component = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: APPS_NAMESPACE, plural: 'components', name: 'statestore' })) as { metadata?: { name?: string } };
    assert.equal(component.metadata?.name, 'statestore', 'the statestore Component is still there');
    const claims = (await kc.makeApiClient(CoreV1Api).listNamespacedPersistentVolumeClaim({ namespace: CONTROL_PLANE_NAMESPACE })).items.map((c) => c.metadata?.name);
    assert.deepEqual(claims, ['dapr-scheduler-data-dir-dapr-scheduler-server-0']);
  });
});

async function podsIn(kc: KubeConfig, namespace: string): Promise<V1Pod[]> {
  return (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace })).items.filter((pod) => !pod.metadata?.deletionTimestamp);
}

async function onePod(kc: KubeConfig, namespace: string, app: string): Promise<V1Pod> {
  const pods = (await podsIn(kc, namespace)).filter((pod) => pod.metadata?.labels?.['app'] === app);
  if (pods.length !== 1 || !pods[0]) throw new Error(`expected one ${app} pod in ${namespace}, found ${pods.length}`);
  return pods[0];
}

/** Deletes the control-plane pod of `app` and waits until its workload's new pod is Ready. */
async function replacePod(kc: KubeConfig, app: string): Promise<void> {
  const old = await onePod(kc, CONTROL_PLANE_NAMESPACE, app);
  await kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ name: old.metadata?.name ?? '', namespace: CONTROL_PLANE_NAMESPACE });
  await pollUntil(`a new ${app} pod Ready`, async () => {
    const pod = await onePod(kc, CONTROL_PLANE_NAMESPACE, app).catch(() => undefined);
    return pod && pod.metadata?.uid !== old.metadata?.uid && isReady(pod) ? true : undefined;
  }, { timeoutMs: 120_000 });
}

function appPod(kc: KubeConfig, app: string): Promise<V1Pod> {
  return onePod(kc, APPS_NAMESPACE, app);
}

/** The app's own HTTP port on its pod IP (the host reaches pod IPs over the node's bridge). */
async function appUrl(kc: KubeConfig, app: string): Promise<string> {
  const pod = await appPod(kc, app);
  if (!pod.status?.podIP) throw new Error(`${app} has no pod IP`);
  return `http://${pod.status.podIP}:3000`;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly url: string;
}

async function call(url: string, method: string, body?: string): Promise<Answer> {
  const response = await fetch(url, { method, body, signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: await response.text(), url };
}

function okText(answer: Answer): string {
  if (answer.status < 200 || answer.status > 299) throw new Error(`${answer.url}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  return answer.body;
}

async function httpText(url: string): Promise<string> {
  return okText(await call(url, 'GET'));
}

/** The sum of a counter's samples in a Prometheus text exposition. */
function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Service invocation and a state round trip, one after another, until stopped. */
function steadyTraffic(checkout: string): { readonly ok: number; readonly failures: string[]; stop(): Promise<void> } {
  const result = { ok: 0, failures: [] as string[] };
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      try {
        okText(await call(`${checkout}/call/orders/hello`, 'POST'));
        okText(await call(`${checkout}/state/roll-${i % 10}`, 'PUT', String(i)));
        result.ok++;
      } catch (err) {
        result.failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    get ok() {
      return result.ok;
    },
    failures: result.failures,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
