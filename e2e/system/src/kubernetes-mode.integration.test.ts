/**
 * Issue 8 row 3: Kubernetes mode, from the injected pod. Our sentry, operator,
 * placement and injector run as processes against the real API server; an
 * annotated Deployment gets its daprd container from our injector; that
 * container is run as a local process of the real upstream daprd, changed
 * only as `localDaprdCommand` and `startInjectedDaprd` record:
 *
 * - command `/daprd` -> the cached upstream daprd binary (v1.17.5);
 * - `--control-plane-address`, `--sentry-address`, `--placement-host-address`,
 *   `--scheduler-host-address` (`<svc>.<cp-ns>.svc.cluster.local:<port>`) ->
 *   127.0.0.1:<our service's port>;
 * - `--dapr-http-port`, `--dapr-grpc-port`, `--dapr-internal-grpc-port`,
 *   `--dapr-public-port` (where the probes point), `--metrics-port` -> free ports;
 * - env POD_NAME (fieldRef metadata.name) resolved from the Pod, as the kubelet would;
 * - the projected `dapr-identity-token` volume -> a TokenRequest token bound
 *   to the Pod with the volume's audience and lifetime, in a temp file named
 *   by env DAPR_SENTRY_TOKEN_FILE (daprd then still sends the KUBERNETES
 *   validator, and our sentry does a real TokenReview);
 * - env DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK=true (we run as root);
 * - `--disable-builtin-k8s-secret-store` added: without it daprd 1.17.5 exits
 *   with "Failed to init component kubernetes (secretstores.kubernetes/v1):
 *   ... stat /root/.kube/config: no such file or directory" (no in-cluster config);
 * - the test process's environment underneath the container's (PATH, HOME, ...).
 *
 * Our injector runs with `--sidecar-token-volume true` (outside a pod it has
 * no token of its own). The Deployment asks for `dapr.io/config` (HotReload
 * on: 1.17 has it off by default), `dapr.io/log-level: debug` and
 * `dapr.io/app-port` (a local app hosting an actor type, for the reminder).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { createTestNamespace, freePort, pollUntil, requireTestCluster, SIDECAR_IMAGE, startKubernetesControlPlane, testKubeConfig, type KubernetesControlPlane, type TestNamespace } from '@tsdapr/e2e-harness';
import { startActorApp } from './actor-app.js';
import { daprdContainer, startInjectedDaprd, type InjectedDaprd } from './injected-daprd.js';


const APP_ID = 'orders';
const STORE = 'statestore';
const PUBSUB = 'pubsub';
const SUBSCRIPTION = 'orders-sub';
const CONFIG = 'appconfig';
const ACTOR_STORE = 'actorstore';
const ACTOR_TYPE = 'ordersactor';

interface Metadata {
  id?: string;
  components?: Array<{ name: string; type: string; version: string }>;
  subscriptions?: Array<{ pubsubname: string; topic: string; type?: string; rules?: Array<{ path: string }> }>;
  actorRuntime?: { placement?: string; hostReady?: boolean };
  scheduler?: { connected_addresses?: string[] };
}

/**
 * Both sidecar generations: 1.18 (Ed25519 keys) also calls operator RPCs
 * that 1.17's protos lack; our operator answers UNIMPLEMENTED, which 1.18
 * tolerates, as it does with an upstream 1.17 operator.
 */
for (const version of ['1.17.5', '1.18.1']) {
  describe(`daprd ${version} from the injected pod, in Kubernetes mode, against our control plane and the real API server`, () => {
    let kubeConfig: KubeConfig;
    let cpNamespace: TestNamespace | undefined;
    let appNamespace: TestNamespace | undefined;
    let controlPlane: KubernetesControlPlane | undefined;
    let pod: V1Pod;
    let daprd: InjectedDaprd | undefined;
    let app: Awaited<ReturnType<typeof startActorApp>> | undefined;

    const dapr = (): CustomObjectsApi => kubeConfig.makeApiClient(CustomObjectsApi);
    const ns = (): string => appNamespace?.name ?? '';
    /** daprd's log tail and the control plane's, for every failure message. */
    const context = (): string => `\n--- daprd log tail ---\n${daprd?.tail() ?? '(daprd not started)'}\n${controlPlane?.logs() ?? ''}`;
    const sidecar = async (path: string, init?: RequestInit): Promise<Response> => fetch(`http://127.0.0.1:${daprd?.httpPort}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
    const metadata = async (): Promise<Metadata> => (await (await sidecar('/v1.0/metadata')).json()) as Metadata;

    before(async () => {
      const kubeconfigPath = requireTestCluster();
      kubeConfig = testKubeConfig();
      cpNamespace = await createTestNamespace('dapr-cp');
      appNamespace = await createTestNamespace('dapr-app');
      controlPlane = await startKubernetesControlPlane({
        kubeconfigPath,
        kubeConfig,
        namespace: cpNamespace.name,
        webhookNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': appNamespace.name } },
        webhookFailurePolicy: 'Fail',
        webhookConfigurationName: `tsdapr-e2e-injector-${appNamespace.name}`,
        operatorWatchNamespace: appNamespace.name,
      });

      const namespace = ns();
      app = await startActorApp(APP_ID, ACTOR_TYPE, await freePort());
      await dapr().createNamespacedCustomObject({
        group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'components',
        body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: ACTOR_STORE }, spec: { type: 'state.in-memory', version: 'v1', metadata: [{ name: 'actorStateStore', value: 'true' }] } },
      });
      await dapr().createNamespacedCustomObject({
        group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'configurations',
        body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name: CONFIG }, spec: { features: [{ name: 'HotReload', enabled: true }] } },
      });
      await dapr().createNamespacedCustomObject({
        group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'components',
        body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: STORE }, spec: { type: 'state.in-memory', version: 'v1', metadata: [] } },
      });
      await dapr().createNamespacedCustomObject({
        group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'components',
        body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: PUBSUB }, spec: { type: 'pubsub.in-memory', version: 'v1', metadata: [] } },
      });
      await dapr().createNamespacedCustomObject({
        group: 'dapr.io', version: 'v2alpha1', namespace, plural: 'subscriptions',
        body: { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: SUBSCRIPTION }, spec: { pubsubname: PUBSUB, topic: 'orders', routes: { default: '/orders' } } },
      });

      await kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name: APP_ID },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: APP_ID } },
            template: {
              metadata: {
                labels: { app: APP_ID },
                annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': APP_ID, 'dapr.io/config': CONFIG, 'dapr.io/log-level': 'debug', 'dapr.io/app-port': String(app.port) },
              },
              spec: { containers: [{ name: 'app', image: 'registry.invalid/orders:1' }] },
            },
          },
        },
      });
      // No kubelet: the Pod stays Pending, which is all this needs.
      const core = kubeConfig.makeApiClient(CoreV1Api);
      pod = await pollUntil(
        `a Pod of Deployment ${namespace}/${APP_ID}`,
        async () => (await core.listNamespacedPod({ namespace, labelSelector: `app=${APP_ID}` })).items[0],
        { timeoutMs: 30_000 },
      ).catch(async (err: unknown) => {
        const events = await core.listNamespacedEvent({ namespace }).catch(() => ({ items: [] }));
        throw new Error(`${(err as Error).message}\nevents: ${events.items.map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.reason} ${e.message}`).join('\n')}${context()}`, { cause: err });
      });

      daprd = await startInjectedDaprd(kubeConfig, pod, {
        operator: `127.0.0.1:${controlPlane.operatorApiPort}`,
        sentry: `127.0.0.1:${controlPlane.sentryPort}`,
        placement: `127.0.0.1:${controlPlane.placementPort}`,
        scheduler: `127.0.0.1:${controlPlane.schedulerPort}`,
      }, version);
      console.log(`daprd ${daprd.command.args.join(' ')}\ndeviations from the injected container:\n- ${daprd.command.deviations.join('\n- ')}`);
    });

    after(async () => {
      await daprd?.stop();
      await app?.close();
      await controlPlane?.stop();
      await appNamespace?.cleanup().catch(() => undefined);
      await cpNamespace?.cleanup().catch(() => undefined);
    });

    test('our injector put a Kubernetes-mode daprd container into the Pod', () => {
      const container = daprdContainer(pod);
      const args = container.args ?? [];
      const arg = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
      const cp = controlPlane?.namespace ?? '';
      assert.equal(container.image, SIDECAR_IMAGE);
      assert.equal(arg('--mode'), 'kubernetes');
      assert.equal(arg('--app-id'), APP_ID);
      assert.equal(arg('--config'), CONFIG);
      assert.equal(arg('--control-plane-address'), `dapr-api.${cp}.svc.cluster.local:443`);
      assert.equal(arg('--sentry-address'), `dapr-sentry.${cp}.svc.cluster.local:443`);
      assert.equal(arg('--placement-host-address'), `dapr-placement-server.${cp}.svc.cluster.local:50005`);
      assert.equal(arg('--scheduler-host-address'), `dapr-scheduler-server-a.${cp}.svc.cluster.local:443`);
      const env = new Map((container.env ?? []).map((e) => [e.name, e]));
      assert.equal(env.get('DAPR_TRUST_ANCHORS')?.value, controlPlane?.trustAnchorsPem);
      assert.equal(env.get('NAMESPACE')?.value, ns());
      assert.equal(env.get('DAPR_CONTROLPLANE_NAMESPACE')?.value, cp);
      assert.ok(container.volumeMounts?.some((m) => m.name === 'dapr-identity-token' && m.mountPath === '/var/run/secrets/dapr.io/sentrytoken'), JSON.stringify(container.volumeMounts));
    });

    test('daprd turns healthy: SVID from our sentry (TokenReview), configuration and resources from our operator', async () => {
      await daprd?.waitHealthy(90_000).catch((err: unknown) => {
        throw new Error(`daprd did not turn healthy: ${(err as Error).message}${context()}`, { cause: err });
      });
      // Its SVID came through the Kubernetes validator (TokenReview of the pod-bound token) of our sentry.
      const sentry = controlPlane?.services.find((service) => service.name === 'sentry');
      const signed = (sentry?.logs() ?? '').split('\n').filter((line) => line.includes('certificate signed') && line.includes(`spiffe://public/ns/${ns()}/${APP_ID}`));
      assert.ok(signed.some((line) => /"validator":("KUBERNETES"|1)[,}]/.test(line)), `sentry log lines for ${APP_ID}: ${signed.join('\n')}${context()}`);
    });

    test('daprd connects to our placement over mTLS', async () => {
      await pollUntil('placement: connected', async () => ((await metadata()).actorRuntime?.placement === 'placement: connected' ? true : undefined), { timeoutMs: 30_000 }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}${context()}`, { cause: err });
      });
    });

    test('an actor reminder goes through our scheduler (mTLS, Kubernetes mode) and fires until it is deleted', async () => {
      const reminderUrl = `/v1.0/actors/${ACTOR_TYPE}/order-1/reminders/ping`;
      await pollUntil('daprd hosts the actor type and is connected to our scheduler', async () => {
        const found = await metadata();
        return found.actorRuntime?.hostReady && found.scheduler?.connected_addresses?.[0] === `127.0.0.1:${controlPlane?.schedulerPort}` ? true : undefined;
      }, { timeoutMs: 30_000 }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}${context()}`, { cause: err });
      });
      // Activate the actor on this sidecar (the reminder API refuses types it does not host).
      await pollUntil('an actor call succeeds', async () => ((await sidecar(`/v1.0/actors/${ACTOR_TYPE}/order-1/method/ping`, { method: 'PUT', body: '{}' })).ok ? true : undefined), { timeoutMs: 30_000 });
      const created = await sidecar(reminderUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dueTime: '0s', period: '1s', data: { n: 1 } }) });
      assert.equal(created.status, 204, `create reminder: HTTP ${created.status} ${await created.text()}${context()}`);
      await pollUntil('two reminder deliveries', async () => ((app?.reminders ?? 0) >= 2 ? true : undefined), { timeoutMs: 30_000 }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}${context()}`, { cause: err });
      });
      const got = await sidecar(reminderUrl);
      assert.equal(got.status, 200, `get reminder: HTTP ${got.status}${context()}`);
      const deleted = await sidecar(reminderUrl, { method: 'DELETE' });
      assert.equal(deleted.status, 204, `delete reminder: HTTP ${deleted.status} ${await deleted.text()}`);
      const afterDelete = await sidecar(reminderUrl);
      assert.notEqual(afterDelete.status, 200, 'the reminder is gone from the scheduler after DELETE');
    });

    test('/v1.0/metadata lists the Components and the Subscription from the cluster', async () => {
      const found = await metadata();
      assert.equal(found.id, APP_ID);
      const components = (found.components ?? []).map((c) => `${c.name}:${c.type}:${c.version}`).sort();
      assert.ok(components.includes(`${STORE}:state.in-memory:v1`) && components.includes(`${PUBSUB}:pubsub.in-memory:v1`), `components ${JSON.stringify(found.components)}${context()}`);
      assert.ok(
        (found.subscriptions ?? []).some((s) => s.pubsubname === PUBSUB && s.topic === 'orders'),
        `subscriptions ${JSON.stringify(found.subscriptions)}${context()}`,
      );
    });

    test('the in-memory state store serves a save and a get through the HTTP API', async () => {
      const save = await sidecar(`/v1.0/state/${STORE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: 'order-1', value: { qty: 3 } }]) });
      assert.equal(save.status, 204, `save: HTTP ${save.status} ${await save.text()}${context()}`);
      const get = await sidecar(`/v1.0/state/${STORE}/order-1`);
      assert.equal(get.status, 200, `get: HTTP ${get.status}${context()}`);
      assert.deepEqual(await get.json(), { qty: 3 });
    });

    test('an update to the Component reaches the sidecar (ComponentUpdate stream, hot reload)', async () => {
      const before = daprd?.logs().length ?? 0;
      await dapr().patchNamespacedCustomObject(
        { group: 'dapr.io', version: 'v1alpha1', namespace: ns(), plural: 'components', name: STORE, body: [{ op: 'add', path: '/spec/metadata/-', value: { name: 'revision', value: '2' } }] },
      );
      // Evidence 1: daprd's hot-reload reconciler says it re-created the component from the update event.
      await pollUntil(
        'daprd logs "Component updated: statestore"',
        async () => ((daprd?.logs().slice(before) ?? '').includes(`Component updated: ${STORE}`) ? true : undefined),
        { timeoutMs: 30_000 },
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}${context()}`, { cause: err });
      });
      // Evidence 2: the in-memory store is a new instance, so the key saved before is gone, and the store serves again.
      const get = await sidecar(`/v1.0/state/${STORE}/order-1`);
      assert.equal(get.status, 204, `after reload the old in-memory store should be gone: HTTP ${get.status} ${await get.text()}${context()}`);
      const save = await sidecar(`/v1.0/state/${STORE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: 'order-2', value: 'v2' }]) });
      assert.equal(save.status, 204, `save after reload: HTTP ${save.status}${context()}`);
      assert.equal(await (await sidecar(`/v1.0/state/${STORE}/order-2`)).json(), 'v2');
    });
  });
}
