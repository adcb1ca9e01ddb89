import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { status as grpcStatus, type Client, type ServiceError } from '@grpc/grpc-js';
import { AdmissionregistrationV1Api, ApiextensionsV1Api, AppsV1Api, AuthorizationV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, PolicyV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, pollUntil, repoRoot, requireTestCluster, testKubeConfig, type TestNamespace } from '@tsdapr/e2e-harness';
import { startChartControlPlane, type ChartControlPlane } from './chart-control-plane.js';
import { chartDir, helmOk, valuesFile } from './helm.js';
import { schedulerClient, servedCertificate, unary, watchHostsUntil, workloadIdentity } from './scheduler-client.js';

/**
 * Installs the chart into the real test API server (no kubelet: pods stay
 * Pending), runs the pods it created as local processes with the chart's own
 * flags and mounted files (chart-control-plane.ts) until they are ready and
 * inject a Deployment, schedules a job through the scheduler's replicas with
 * that pod's identity, reads `tsdapr status` from that cluster, then upgrades
 * the chart with other values and a changed CRD schema, and uninstalls it.
 * The webhook is limited to the test namespaces so that pods of other tests
 * sharing the cluster never reach it. One file, in order: the chart's
 * cluster-wide objects (ClusterRoles, the webhook) allow one release at a time.
 */
const run = promisify(execFile);
const RELEASE = 'tsdapr';
const CRD_NAMES = ['components.dapr.io', 'configurations.dapr.io', 'httpendpoints.dapr.io', 'resiliencies.dapr.io', 'subscriptions.dapr.io'];
const UPGRADED_DESCRIPTION = 'The component version, for example v1. (changed by the chart upgrade test)';
/**
 * The first suite installs the chart's default scheduler (three replicas,
 * each an embedded etcd member on its PVC) and runs it; the HA suite leaves
 * it out, to spare the test machine three more pods and etcd members.
 */
const SCHEDULER_OFF = { scheduler: { enabled: false } };
const SCHEDULER_PODS = ['dapr-scheduler-server-0', 'dapr-scheduler-server-1', 'dapr-scheduler-server-2'];
/** Replicas of each workload of a default install. */
const DEFAULT_REPLICAS: Record<string, number> = { sentry: 1, operator: 1, placement: 1, injector: 1, scheduler: 3 };

describe('helm install, upgrade and uninstall against the real API server', () => {
  let kubeconfigPath: string;
  let kc: KubeConfig;
  let ns: TestNamespace;
  /** Where the annotated app runs; selected by the webhook. */
  let apps: TestNamespace;
  /** Not selected by the webhook: its annotated pod is a missed injection. */
  let missed: TestNamespace;
  let chartCopy: string;
  let controlPlane: ChartControlPlane | undefined;
  // The cluster is shared with other tests: the webhook and the operator (which writes Services and Component status) stay in these namespaces.
  const values = (): Record<string, unknown> => ({
    // Missed-injection reporting on (default off): its pods watch and Events run under the chart's RBAC too.
    dapr_sidecar_injector: { missedInjectionReporting: true, namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns.name, apps.name] }] } },
    dapr_operator: { watchNamespace: apps.name },
  });

  before(async () => {
    kubeconfigPath = requireTestCluster();
    kc = testKubeConfig();
    ns = await createTestNamespace('chart');
    apps = await createTestNamespace('chart-apps');
    missed = await createTestNamespace('chart-missed');
    await adoptExistingCrds(kc, ns.name);
    // A copy of the chart with one CRD's schema changed, for the upgrade.
    chartCopy = mkdtempSync(join(tmpdir(), 'tsdapr-chart-'));
    cpSync(chartDir(), chartCopy, { recursive: true });
    const crdFile = join(chartCopy, 'templates', 'crds', 'components.yaml');
    const original = readFileSync(crdFile, 'utf8');
    const changed = original.replace('description: The component version, for example v1.', `description: ${UPGRADED_DESCRIPTION}`);
    assert.notEqual(changed, original, 'the components CRD no longer has the description this test changes');
    writeFileSync(crdFile, changed);
  });

  after(async () => {
    await controlPlane?.stop();
    if (chartCopy) rmSync(chartCopy, { recursive: true, force: true });
    if (ns) {
      await helmOk(['uninstall', RELEASE, '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '--ignore-not-found']).catch(() => undefined);
      await ns.cleanup();
    }
    await apps?.cleanup();
    await missed?.cleanup();
  });

  test('install: every object is accepted', async () => {
    const file = valuesFile(values());
    let output: string;
    try {
      output = await helmOk(['install', RELEASE, chartDir(), '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '-f', file.path, '--timeout', '2m']);
    } finally {
      file.cleanup();
    }
    // NOTES.txt: how to check the install (in this namespace) and give a first Deployment its sidecar.
    assert.match(output, new RegExp(`kubectl -n ${ns.name} rollout status deploy/dapr-sentry`));
    assert.match(output, new RegExp(`tsdapr status -n ${ns.name}\\b`));
    assert.match(output, /"dapr\.io\/enabled":"true"/);
    const appsApi = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of ['dapr-sentry', 'dapr-operator', 'dapr-sidecar-injector']) {
      assert.equal((await appsApi.readNamespacedDeployment({ name, namespace: ns.name })).spec?.replicas, 1, name);
    }
    assert.equal((await appsApi.readNamespacedStatefulSet({ name: 'dapr-placement-server', namespace: ns.name })).spec?.replicas, 1);
    assert.equal((await appsApi.readNamespacedStatefulSet({ name: 'dapr-scheduler-server', namespace: ns.name })).spec?.replicas, 3);
    const services = (await core.listNamespacedService({ namespace: ns.name })).items.map((s) => s.metadata?.name).sort();
    assert.deepEqual(services, ['dapr-api', 'dapr-placement-server', 'dapr-scheduler-server', 'dapr-scheduler-server-a', 'dapr-sentry', 'dapr-sidecar-injector', 'dapr-webhook']);
    const accounts = (await core.listNamespacedServiceAccount({ namespace: ns.name })).items.map((s) => s.metadata?.name);
    for (const sa of ['dapr-sentry', 'dapr-operator', 'dapr-placement', 'dapr-injector', 'dapr-scheduler']) assert.ok(accounts.includes(sa), sa);
    assert.ok(await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: ns.name }));
    assert.ok(await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: ns.name }));
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    for (const name of ['dapr-sentry', 'dapr-operator-admin', 'dapr-injector']) assert.ok(await rbac.readClusterRole({ name }), name);
    for (const name of ['dapr-sentry', 'dapr-operator', 'dapr-placement', 'dapr-injector']) assert.ok(await rbac.readNamespacedRole({ name, namespace: ns.name }), name);
    const webhook = await kc.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: 'dapr-sidecar-injector' });
    assert.equal(webhook.webhooks?.[0]?.clientConfig.service?.namespace, ns.name);
    // The operator's validating webhook is the release's too, without a caBundle until the operator patches one in.
    const validating = await kc.makeApiClient(AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: 'dapr-operator' });
    assert.equal(validating.metadata?.annotations?.['meta.helm.sh/release-namespace'], ns.name);
    // As plain JSON: the client's model classes, and no caBundle key at all.
    const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
    assert.deepEqual(plain(validating.webhooks?.[0]?.clientConfig), { service: { namespace: ns.name, name: 'dapr-webhook', path: '/validate', port: 443 } });
    assert.deepEqual(plain(validating.webhooks?.[0]?.namespaceSelector), { matchLabels: { 'kubernetes.io/metadata.name': apps.name } });
    const configuration = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'configurations', name: 'daprsystem' })) as { spec: { mtls: { enabled: boolean } } };
    assert.equal(configuration.spec.mtls.enabled, true);
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    for (const name of CRD_NAMES) {
      const crd = await extensions.readCustomResourceDefinition({ name });
      assert.equal(crd.metadata?.annotations?.['helm.sh/resource-policy'], 'keep', name);
    }
    // The controller manager turns the workloads into pods (Pending: no kubelet); their specs were accepted.
    const pods = await pollUntil('seven control-plane pods', async () => {
      const list = (await core.listNamespacedPod({ namespace: ns.name })).items;
      return list.length >= 7 ? list : undefined;
    }, { timeoutMs: 30_000 });
    const planes = pods.map((p) => p.metadata?.annotations?.['dapr.io/control-plane']).sort();
    assert.deepEqual(planes, ['injector', 'operator', 'placement', 'scheduler', 'scheduler', 'scheduler', 'sentry']);
    // Each scheduler replica claims its data volume (no provisioner binds it here: local-pod.ts gives it a directory).
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns.name })).items.map((c) => c.metadata?.name).sort();
    assert.deepEqual(claims, SCHEDULER_PODS.map((pod) => `dapr-scheduler-data-dir-${pod}`));
    const placementPod = pods.find((p) => p.metadata?.annotations?.['dapr.io/control-plane'] === 'placement');
    const token = placementPod?.spec?.volumes?.find((v) => v.name === 'dapr-identity-token')?.projected?.sources?.[0]?.serviceAccountToken;
    assert.equal(token?.audience, `spiffe://cluster.local/ns/${ns.name}/dapr-sentry`);
  });

  test("RBAC, asked of the API server: each service can do what it needs, and cannot touch another service's Lease", async () => {
    const authz = kc.makeApiClient(AuthorizationV1Api);
    interface Access {
      readonly verb: string;
      readonly resource: string;
      readonly group?: string;
      readonly subresource?: string;
      readonly name?: string;
      /** Omitted: the release namespace; '' : cluster-wide. */
      readonly namespace?: string;
    }
    const allowed = async (serviceAccount: string, access: Access): Promise<boolean> => {
      const review = await authz.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: `system:serviceaccount:${ns.name}:${serviceAccount}`,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${ns.name}`, 'system:authenticated'],
            resourceAttributes: {
              verb: access.verb,
              group: access.group ?? '',
              resource: access.resource,
              ...(access.subresource ? { subresource: access.subresource } : {}),
              ...(access.name ? { name: access.name } : {}),
              ...(access.namespace === '' ? {} : { namespace: access.namespace ?? ns.name }),
            },
          },
        },
      });
      return review.status?.allowed === true;
    };
    const lease = (verb: string, name?: string, namespace?: string): Access => ({ verb, group: 'coordination.k8s.io', resource: 'leases', ...(name ? { name } : {}), ...(namespace !== undefined ? { namespace } : {}) });
    const OPERATOR_LEASE = 'operator.dapr.io';
    const PLACEMENT_LEASE = 'dapr-placement-leader';
    const expectations: [string, Access, boolean][] = [
      // Each elects on its own Lease: get and update it by name, create it (create cannot be limited by name).
      ['dapr-operator', lease('get', OPERATOR_LEASE), true],
      ['dapr-operator', lease('update', OPERATOR_LEASE), true],
      ['dapr-operator', lease('create'), true],
      ['dapr-placement', lease('get', PLACEMENT_LEASE), true],
      ['dapr-placement', lease('update', PLACEMENT_LEASE), true],
      ['dapr-placement', lease('create'), true],
      // ... and cannot touch the other's, nor list or watch Leases, nor reach another namespace's.
      ['dapr-operator', lease('update', PLACEMENT_LEASE), false],
      ['dapr-operator', lease('get', PLACEMENT_LEASE), false],
      ['dapr-operator', lease('delete', OPERATOR_LEASE), false],
      ['dapr-operator', lease('list'), false],
      ['dapr-operator', lease('watch'), false],
      ['dapr-operator', lease('update', OPERATOR_LEASE, apps.name), false],
      ['dapr-placement', lease('update', OPERATOR_LEASE), false],
      ['dapr-placement', lease('get', OPERATOR_LEASE), false],
      ['dapr-placement', lease('list'), false],
      ['dapr-placement', lease('update', PLACEMENT_LEASE, apps.name), false],
      ...(['dapr-sentry', 'dapr-injector', 'dapr-scheduler'].flatMap((sa) => [
        [sa, lease('update', OPERATOR_LEASE), false],
        [sa, lease('update', PLACEMENT_LEASE), false],
        [sa, lease('create'), false],
      ]) as [string, Access, boolean][]),
      // What the operator calls, and no more.
      ['dapr-operator', { verb: 'patch', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', name: 'subscriptions.dapr.io', namespace: '' }, true],
      ['dapr-operator', { verb: 'update', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', name: 'subscriptions.dapr.io', namespace: '' }, false],
      ['dapr-operator', { verb: 'patch', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', name: 'components.dapr.io', namespace: '' }, false],
      ['dapr-operator', { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', name: 'dapr-operator', namespace: '' }, true],
      ['dapr-operator', { verb: 'create', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', namespace: '' }, false],
      ['dapr-operator', { verb: 'watch', group: 'apps', resource: 'deployments', namespace: '' }, true],
      ['dapr-operator', { verb: 'create', resource: 'services', namespace: apps.name }, true],
      ['dapr-operator', { verb: 'get', resource: 'secrets', name: 'x', namespace: apps.name }, true],
      ['dapr-operator', { verb: 'list', resource: 'secrets', namespace: apps.name }, false],
      ['dapr-operator', { verb: 'watch', group: 'dapr.io', resource: 'httpendpoints', namespace: '' }, true],
      ['dapr-operator', { verb: 'patch', group: 'dapr.io', resource: 'components', subresource: 'status', namespace: apps.name }, true],
      ['dapr-operator', { verb: 'update', group: 'dapr.io', resource: 'components', subresource: 'status', namespace: apps.name }, false],
      ['dapr-operator', { verb: 'create', resource: 'events' }, false],
      ['dapr-operator', { verb: 'list', group: 'dapr.io', resource: 'mcpservers', namespace: '' }, false],
      // The injector: its webhook by name, and (missed-injection reporting is on here) pods and Events.
      ['dapr-injector', { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', name: 'dapr-sidecar-injector', namespace: '' }, true],
      ['dapr-injector', { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', name: 'other', namespace: '' }, false],
      ['dapr-injector', { verb: 'list', resource: 'serviceaccounts', namespace: '' }, true],
      ['dapr-injector', { verb: 'watch', group: 'dapr.io', resource: 'components', namespace: '' }, true],
      ['dapr-injector', { verb: 'watch', group: 'dapr.io', resource: 'configurations' }, true],
      ['dapr-injector', { verb: 'watch', group: 'dapr.io', resource: 'configurations', namespace: apps.name }, false],
      ['dapr-injector', { verb: 'watch', resource: 'pods', namespace: '' }, true],
      ['dapr-injector', { verb: 'create', resource: 'events', namespace: missed.name }, true],
      // Sentry: the trust bundle by name, never another Secret.
      ['dapr-sentry', { verb: 'update', resource: 'secrets', name: 'dapr-trust-bundle' }, true],
      ['dapr-sentry', { verb: 'get', resource: 'secrets', name: 'other' }, false],
      ['dapr-sentry', { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews', namespace: '' }, true],
      // The scheduler calls nothing.
      ['dapr-scheduler', { verb: 'list', resource: 'pods', namespace: '' }, false],
    ];
    const wrong: string[] = [];
    for (const [serviceAccount, access, expected] of expectations) {
      const got = await allowed(serviceAccount, access);
      if (got !== expected) wrong.push(`${serviceAccount} ${access.verb} ${access.group ?? ''}/${access.resource}${access.subresource ? `/${access.subresource}` : ''}${access.name ? ` ${access.name}` : ''} in ${access.namespace === '' ? '(cluster)' : (access.namespace ?? ns.name)}: ${got ? 'allowed' : 'denied'}, expected ${expected ? 'allowed' : 'denied'}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('the pods the chart created run as local processes with its flags and mounted files, and become ready', async () => {
    const logDir = join(repoRoot(), '.tsdapr', 'chart-control-plane-logs');
    rmSync(logDir, { recursive: true, force: true });
    mkdirSync(logDir, { recursive: true });
    controlPlane = await startChartControlPlane({ kubeConfig: kc, namespace: ns.name, logDir });
    const started = controlPlane;
    assert.deepEqual(started.pods.map((p) => p.pod.metadata?.annotations?.['dapr.io/control-plane']).sort(), ['injector', 'operator', 'placement', 'scheduler', 'scheduler', 'scheduler', 'sentry']);
    // Only addresses and ports differ from the installed container: placement's id is its pod name, sentry is dialled locally.
    const placement = started.pod('placement');
    assert.ok(placement.argv.includes(`--id=${placement.pod.metadata?.name}`), placement.argv.join(' '));
    assert.ok(placement.argv.includes('--sentry-token-file=/var/run/secrets/dapr.io/sentrytoken/token'), placement.argv.join(' '));
    const sentryPort = started.pod('sentry').ports.get(50001);
    assert.ok(placement.argv.includes(`--sentry-address=127.0.0.1:${sentryPort}`), placement.argv.join(' '));
    // Each runs as the image's user, on a read-only root, and sees the sentry token bound to its own pod where the chart mounts it.
    for (const running of started.pods) {
      const proc = `/proc/${running.process.pid}`;
      assert.match(readFileSync(`${proc}/status`, 'utf8'), /^Uid:\s+65532\s/m, running.name);
      const root = readFileSync(`${proc}/mountinfo`, 'utf8').split('\n').find((line) => line.split(' ')[4] === '/');
      assert.match(root?.split(' ')[5] ?? '', /^ro\b/, `${running.name}: ${root}`);
      assert.equal((await run('nsenter', ['--uts', '--target', String(running.process.pid), 'hostname'])).stdout.trim(), running.name, 'host name');
    }
    // /var/run is a link to /run, which /proc/<pid>/root would resolve on the host.
    const token = readFileSync(`/proc/${placement.process.pid}/root/run/secrets/dapr.io/sentrytoken/token`, 'utf8');
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud: string[]; 'kubernetes.io': { pod: { name: string }; serviceaccount: { name: string } } };
    assert.deepEqual(claims.aud, [`spiffe://cluster.local/ns/${ns.name}/dapr-sentry`]);
    assert.equal(claims['kubernetes.io'].pod.name, placement.pod.metadata?.name);
    assert.equal(claims['kubernetes.io'].serviceaccount.name, 'dapr-placement');
    // The kubelet's part: the workloads count their pods ready.
    const appsApi = kc.makeApiClient(AppsV1Api);
    await pollUntil('every control-plane workload ready (1/1, the scheduler 3/3)', async () => {
      const deployments = await Promise.all(['dapr-sentry', 'dapr-operator', 'dapr-sidecar-injector'].map((name) => appsApi.readNamespacedDeployment({ name, namespace: ns.name })));
      const placementSet = await appsApi.readNamespacedStatefulSet({ name: 'dapr-placement-server', namespace: ns.name });
      const schedulerSet = await appsApi.readNamespacedStatefulSet({ name: 'dapr-scheduler-server', namespace: ns.name });
      return [...deployments, placementSet].every((w) => w.status?.readyReplicas === 1) && schedulerSet.status?.readyReplicas === 3 ? true : undefined;
    }, { timeoutMs: 30_000 });
    // The operator patched the trust anchors into the chart's ValidatingWebhookConfiguration (it may not create one).
    const anchors = (await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: ns.name })).data?.['ca.crt'] ?? '';
    assert.match(anchors, /BEGIN CERTIFICATE/);
    await pollUntil("the trust anchors as the caBundle of the chart's ValidatingWebhookConfiguration", async () => {
      const validating = await kc.makeApiClient(AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: 'dapr-operator' });
      return validating.webhooks?.[0]?.clientConfig.caBundle === Buffer.from(anchors).toString('base64') ? true : undefined;
    }, { timeoutMs: 30_000 }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\noperator log:\n${started.pod('operator').logs().slice(-3000)}`, { cause: err });
    });
  });

  test('an annotated Deployment applied afterwards gets pods with the daprd container', async () => {
    const started = controlPlane;
    assert.ok(started, 'the control plane runs');
    const appsApi = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'dapr.io',
      version: 'v1alpha1',
      namespace: apps.name,
      plural: 'components',
      body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'orders-store' }, spec: { type: 'state.in-memory', version: 'v1', metadata: [] } },
    });
    const deployment = (name: string, namespace: string): Parameters<AppsV1Api['createNamespacedDeployment']>[0] => ({
      namespace,
      body: {
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name }, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': name, 'dapr.io/app-port': '8080' } },
            spec: { containers: [{ name: 'app', image: 'example.invalid/orders:1' }] },
          },
        },
      },
    });
    await appsApi.createNamespacedDeployment(deployment('orders', apps.name));
    await appsApi.createNamespacedDeployment(deployment('forgotten', missed.name));
    const pod = await pollUntil('a pod of Deployment orders', async () => (await core.listNamespacedPod({ namespace: apps.name, labelSelector: 'app=orders' })).items[0], { timeoutMs: 30_000 }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${started.logs()}`, { cause: err });
    });
    const names = pod.spec?.containers.map((c) => c.name) ?? [];
    assert.deepEqual(names, ['app', 'daprd'], `containers of ${pod.metadata?.name}; injector log:\n${started.pod('injector').logs().slice(-3000)}`);
    const daprd = pod.spec?.containers.find((c) => c.name === 'daprd');
    // The sidecar gets the in-cluster addresses, not the local ones the injector process was given.
    const args = daprd?.args ?? [];
    const arg = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
    assert.equal(arg('--sentry-address'), `dapr-sentry.${ns.name}.svc.cluster.local:443`);
    assert.equal(arg('--control-plane-address'), `dapr-api.${ns.name}.svc.cluster.local:443`);
    assert.equal(arg('--scheduler-host-address'), `dapr-scheduler-server-a.${ns.name}.svc.cluster.local:443`);
    assert.equal(daprd?.image, 'ghcr.io/dapr/daprd:1.17.5');
    // The injector ran with a service-account token mounted where a pod has it, so (as upstream) sidecars get theirs.
    assert.ok(pod.spec?.volumes?.some((v) => v.name === 'dapr-identity-token'), 'the sidecar token volume');
    const forgotten = await pollUntil('a pod of Deployment forgotten', async () => (await core.listNamespacedPod({ namespace: missed.name, labelSelector: 'app=forgotten' })).items[0], { timeoutMs: 30_000 });
    assert.deepEqual(forgotten.spec?.containers.map((c) => c.name), ['app'], 'outside the webhook namespaceSelector: no sidecar');
  });

  test('the scheduler: three replicas ready as one etcd quorum, with its SVID from sentry, share the jobs a sidecar schedules', async () => {
    const started = controlPlane;
    assert.ok(started, 'the control plane runs');
    const replicas = started.replicas('scheduler');
    assert.deepEqual(replicas.map((r) => r.name), SCHEDULER_PODS);
    const logs = (): string => replicas.map((r) => `--- ${r.name} (tail) ---\n${r.logs().slice(-3000)}`).join('\n');
    const explain = (err: unknown): never => {
      throw new Error(`${(err as Error).message}\n${logs()}`, { cause: err });
    };
    // Every replica answered /readyz (startChartControlPlane waited for it) and is one member of one etcd cluster,
    // named by its pod and reached at its own peer address (the chart's per-pod DNS name, made local).
    const etcd = async <T>(replica: (typeof replicas)[number], path: string): Promise<T> => {
      const response = await fetch(`http://127.0.0.1:${replica.ports.get(2379)}${path}`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5000) });
      assert.equal(response.status, 200, `${replica.name} etcd ${path}`);
      return (await response.json()) as T;
    };
    const peerUrl = (replica: (typeof replicas)[number]): string => `http://127.0.0.1:${replica.ports.get(2380)}`;
    const statuses = await Promise.all(replicas.map((r) => etcd<{ leader: string; header: { member_id: string } }>(r, '/v3/maintenance/status'))).catch(explain);
    const memberIds = statuses.map((st) => st.header.member_id);
    assert.equal(new Set(memberIds).size, 3, `three members: ${memberIds.join(', ')}`);
    assert.ok(memberIds.includes(statuses[0]?.leader ?? ''), `the leader ${statuses[0]?.leader} is a member`);
    assert.ok(statuses.every((st) => st.leader === statuses[0]?.leader), `one leader for all: ${statuses.map((st) => st.leader).join(', ')}`);
    for (const replica of replicas) {
      const { members } = await etcd<{ members: { name: string; peerURLs: string[] }[] }>(replica, '/v3/cluster/member/list');
      assert.deepEqual(
        members.map((m) => [m.name, m.peerURLs]).sort(),
        replicas.map((r) => [r.name, [peerUrl(r)]]),
        `${replica.name}: the members of --etcd-initial-cluster`,
      );
    }
    // A sidecar's view: the orders pod's identity from sentry, with the projected token daprd would present.
    const core = kc.makeApiClient(CoreV1Api);
    const anchors = (await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: ns.name })).data?.['ca.crt'] ?? '';
    const orders = (await core.listNamespacedPod({ namespace: apps.name, labelSelector: 'app=orders' })).items[0];
    assert.ok(orders, 'the orders pod');
    const identity = await workloadIdentity({
      kubeConfig: kc,
      pod: orders,
      appId: 'orders',
      sentryAddress: `127.0.0.1:${started.pod('sentry').ports.get(50001)}`,
      sentryId: `spiffe://cluster.local/ns/${ns.name}/dapr-sentry`,
      trustAnchorsPem: anchors,
    });
    assert.match(new X509Certificate(identity.certificateChainPem).subjectAltName ?? '', new RegExp(`URI:spiffe://public/ns/${apps.name}/orders`));
    // Each replica serves the scheduler's SVID, which sentry's issuer (the chart's dapr-trust-bundle Secret) signed.
    const issuerPem = Buffer.from((await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: ns.name })).data?.['issuer.crt'] ?? '', 'base64').toString('utf8');
    const issuer = new X509Certificate(issuerPem);
    const schedulerId = `spiffe://cluster.local/ns/${ns.name}/dapr-scheduler`;
    const apiAddress = (replica: (typeof replicas)[number]): string => `127.0.0.1:${replica.ports.get(50006)}`;
    for (const replica of replicas) {
      const served = await servedCertificate('127.0.0.1', replica.ports.get(50006) ?? 0, anchors, identity).catch(explain);
      // One URI SAN, the SPIFFE ID, and (as upstream's sentry gives the scheduler) the peers' DNS names.
      const sans = (served.subjectAltName ?? '').split(', ');
      assert.deepEqual(sans.filter((san) => san.startsWith('URI:')), [`URI:${schedulerId}`], replica.name);
      assert.deepEqual(sans.filter((san) => san.startsWith('DNS:')).sort(), SCHEDULER_PODS.map((pod) => `DNS:${pod}.dapr-scheduler-server.${ns.name}.svc.cluster.local`), replica.name);
      assert.ok(served.checkIssued(issuer) && served.verify(issuer.publicKey), `${replica.name}: its SVID is signed by sentry's issuer`);
    }
    const [first, second, third] = replicas.map((r) => schedulerClient(apiAddress(r), anchors, identity, schedulerId)) as [Client, Client, Client];
    try {
      // WatchHosts: every replica, at its pod IP (status.podIP) and --port, as sidecars would dial them.
      const hosts = await watchHostsUntil(second, (h) => h.length === 3, 30_000).catch(explain);
      assert.deepEqual([...hosts].sort(), replicas.map(apiAddress).sort());
      // A job scheduled through one replica is read back through another: they share it through etcd.
      const metadata = { app_id: 'orders', namespace: apps.name, target: { job: {} } };
      const dueTime = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const data = { type_url: 'type.googleapis.com/google.protobuf.StringValue', value: Buffer.from('chart install') };
      await unary(first, 'ScheduleJob', { name: 'chart-check', job: { due_time: dueTime, data }, metadata, overwrite: false }).catch(explain);
      const { job } = await unary<{ job: { due_time: string; data: { type_url: string; value: Buffer } } }>(third, 'GetJob', { name: 'chart-check', metadata }).catch(explain);
      assert.equal(job.due_time, dueTime);
      assert.equal(job.data.type_url, data.type_url);
      assert.equal(Buffer.from(job.data.value).toString('utf8'), 'chart install');
      // Authorized by SPIFFE ID: the orders identity cannot act for another app.
      const refused = await unary(second, 'GetJob', { name: 'chart-check', metadata: { ...metadata, app_id: 'payments' } }).then(
        () => undefined,
        (err: unknown) => err as ServiceError,
      );
      assert.equal(refused?.code, grpcStatus.PERMISSION_DENIED, `another app id: ${refused?.details}`);
      await unary(second, 'DeleteJob', { name: 'chart-check', metadata });
    } finally {
      for (const client of [first, second, third]) client.close();
    }
  });

  test('tsdapr status reads the install: replicas, trust anchors, placement leader, components, missed injections', async () => {
    const started = controlPlane;
    assert.ok(started, 'the control plane runs');
    const status = JSON.parse(await tsdaprStatus(ns.name, ['-o', 'json'])) as StatusJson;
    for (const workload of status.workloads) {
      assert.ok(workload.found, workload.name);
      assert.equal(workload.replicas, DEFAULT_REPLICAS[workload.service], workload.name);
      assert.equal(workload.ready, DEFAULT_REPLICAS[workload.service], workload.name);
      assert.equal(workload.version, 'edge', workload.name);
    }
    assert.deepEqual(status.workloads.map((w) => w.service).sort(), ['injector', 'operator', 'placement', 'scheduler', 'sentry']);
    assert.equal(status.workloads.find((w) => w.service === 'scheduler')?.quorum, 2, 'the etcd quorum of three members');
    assert.equal(status.trust.anchors.length, 1, JSON.stringify(status.trust));
    const anchor = status.trust.anchors[0];
    assert.ok(anchor && anchor.daysLeft > 300 && !anchor.warning && !anchor.expired, JSON.stringify(anchor));
    assert.ok(status.trust.issuer && !status.trust.issuer.warning, JSON.stringify(status.trust));
    assert.equal(status.placement.leader, started.pod('placement').pod.metadata?.name);
    const appComponents = status.components?.find((c) => c.namespace === apps.name);
    assert.deepEqual(appComponents?.components, [{ name: 'orders-store', type: 'state.in-memory' }]);
    const missedHere = status.podsWithoutSidecar?.filter((p) => p.namespace === missed.name || p.namespace === apps.name).map((p) => `${p.namespace}/${p.name.split('-')[0]}`);
    assert.deepEqual(missedHere, [`${missed.name}/forgotten`]);
    // The table, for the issue's closing note.
    const table = await tsdaprStatus(ns.name, []);
    const out = join(repoRoot(), '.tsdapr', 'chart-status.txt');
    writeFileSync(out, table);
    assert.match(table, /sentry/);
  });

  test('the local processes stop; the webhook and the injector Service are back as installed', async () => {
    // Each service ran as its ServiceAccount: the chart's RBAC let it do all it tried.
    for (const running of controlPlane?.pods ?? []) {
      const denied = running.logs().split('\n').filter((line) => /is forbidden|\b403\b/.test(line));
      assert.deepEqual(denied.map((line) => line.slice(0, 400)), [], `${running.name} was refused by RBAC`);
    }
    await controlPlane?.stop();
    controlPlane = undefined;
    const appsApi = kc.makeApiClient(AppsV1Api);
    await pollUntil('no control-plane workload ready', async () => {
      const deployments = await Promise.all(['dapr-sentry', 'dapr-operator', 'dapr-sidecar-injector'].map((name) => appsApi.readNamespacedDeployment({ name, namespace: ns.name })));
      const sets = await Promise.all(['dapr-placement-server', 'dapr-scheduler-server'].map((name) => appsApi.readNamespacedStatefulSet({ name, namespace: ns.name })));
      return [...deployments, ...sets].every((w) => !w.status?.readyReplicas) ? true : undefined;
    }, { timeoutMs: 30_000 });
    const webhook = await kc.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: 'dapr-sidecar-injector' });
    assert.equal(webhook.webhooks?.[0]?.clientConfig.service?.port, 443);
    const service = await kc.makeApiClient(CoreV1Api).readNamespacedService({ name: 'dapr-sidecar-injector', namespace: ns.name });
    assert.equal(service.spec?.type, 'ClusterIP');
    assert.deepEqual(service.spec?.selector, { app: 'dapr-sidecar-injector' });
  });

  test('upgrade: a CRD schema and values change, Components survive, the patched caBundle stays', async () => {
    const objects = kc.makeApiClient(CustomObjectsApi);
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const caBundle = (await admission.readValidatingWebhookConfiguration({ name: 'dapr-operator' })).webhooks?.[0]?.clientConfig.caBundle;
    assert.ok(caBundle, 'the operator patched a caBundle in');
    await objects.createNamespacedCustomObject({
      group: 'dapr.io',
      version: 'v1alpha1',
      namespace: ns.name,
      plural: 'components',
      body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'statestore' }, spec: { type: 'state.in-memory', version: 'v1', metadata: [] } },
    });
    const file = valuesFile({ ...values(), global: { ha: { enabled: true } }, dapr_sentry: { logLevel: 'debug' } });
    try {
      await helmOk(['upgrade', RELEASE, chartCopy, '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '-f', file.path, '--timeout', '2m']);
    } finally {
      file.cleanup();
    }
    const apps = kc.makeApiClient(AppsV1Api);
    const sentry = await apps.readNamespacedDeployment({ name: 'dapr-sentry', namespace: ns.name });
    assert.equal(sentry.spec?.replicas, 3);
    assert.ok(sentry.spec?.template.spec?.containers[0]?.args?.includes('--log-level=debug'));
    assert.ok(sentry.spec?.template.spec?.affinity?.podAntiAffinity, 'anti-affinity in HA');
    assert.equal((await apps.readNamespacedStatefulSet({ name: 'dapr-placement-server', namespace: ns.name })).spec?.replicas, 3);
    const pdbs = (await kc.makeApiClient(PolicyV1Api).listNamespacedPodDisruptionBudget({ namespace: ns.name })).items.map((p) => p.metadata?.name).sort();
    assert.deepEqual(pdbs, ['dapr-operator-disruption-budget', 'dapr-placement-server-disruption-budget', 'dapr-scheduler-server-disruption-budget', 'dapr-sentry-budget', 'dapr-sidecar-injector-disruption-budget']);
    // The scheduler's replicas are its etcd members, fixed at install: HA does not change them.
    assert.equal((await apps.readNamespacedStatefulSet({ name: 'dapr-scheduler-server', namespace: ns.name })).spec?.replicas, 3);
    const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'components.dapr.io' });
    const spec = crd.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.spec;
    assert.equal(spec?.properties?.version?.description, UPGRADED_DESCRIPTION, 'helm upgrade changed the CRD schema');
    const component = (await objects.getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'components', name: 'statestore' })) as { spec: { type: string } };
    assert.equal(component.spec.type, 'state.in-memory');
    // The template has no caBundle: Helm's three-way merge leaves the operator's patch (no operator runs now to put it back).
    const upgraded = await admission.readValidatingWebhookConfiguration({ name: 'dapr-operator' });
    assert.equal(upgraded.webhooks?.[0]?.clientConfig.caBundle, caBundle);
    assert.equal(upgraded.webhooks?.[0]?.timeoutSeconds, 5);
  });

  test('uninstall: the control plane and both webhook configurations go, CRDs and custom resources stay', async () => {
    await helmOk(['uninstall', RELEASE, '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '--wait', '--timeout', '2m']);
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    assert.deepEqual((await apps.listNamespacedDeployment({ namespace: ns.name })).items.map((d) => d.metadata?.name), []);
    assert.deepEqual((await apps.listNamespacedStatefulSet({ namespace: ns.name })).items.map((d) => d.metadata?.name), []);
    assert.deepEqual((await core.listNamespacedService({ namespace: ns.name })).items.map((d) => d.metadata?.name), []);
    // As upstream: the scheduler's data volumes outlive the release (a StatefulSet's claims are retained).
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns.name })).items.map((c) => c.metadata?.name).sort();
    assert.deepEqual(claims, SCHEDULER_PODS.map((pod) => `dapr-scheduler-data-dir-${pod}`));
    const leftSecrets = (await core.listNamespacedSecret({ namespace: ns.name })).items.map((s) => s.metadata?.name);
    assert.ok(!leftSecrets.includes('dapr-trust-bundle'), 'trust bundle Secret removed');
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    assert.ok(!(await rbac.listClusterRole()).items.some((r) => ['dapr-sentry', 'dapr-operator-admin', 'dapr-injector'].includes(r.metadata?.name ?? '')), 'ClusterRoles removed');
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    assert.ok(!(await admission.listMutatingWebhookConfiguration()).items.some((w) => w.metadata?.name === 'dapr-sidecar-injector'), 'webhook removed');
    // The operator's validating webhook went with the release: nothing points at this namespace any more.
    const validating = (await admission.listValidatingWebhookConfiguration()).items.filter((w) => w.metadata?.name === 'dapr-operator' || w.webhooks?.some((h) => h.clientConfig.service?.namespace === ns.name));
    assert.deepEqual(validating.map((w) => w.metadata?.name), [], 'no ValidatingWebhookConfiguration left behind');
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    for (const name of CRD_NAMES) assert.ok(await extensions.readCustomResourceDefinition({ name }), `${name} kept`);
    const component = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: ns.name, plural: 'components', name: 'statestore' })) as { metadata: { name: string } };
    assert.equal(component.metadata.name, 'statestore');
  });
});

/**
 * HA mode as installed and run: every replica of every workload is a local
 * process (two each: global.ha.replicaCount's minimum, to spare the test
 * machine), the replicas of a workload start together, and placement's
 * replicas elect one leader on the chart's Lease. After the first suite, in
 * the same file: the chart's cluster-wide objects allow one release at a time.
 */
describe('HA: every replica the chart asks for runs, and placement elects one leader', () => {
  let kubeconfigPath: string;
  let kc: KubeConfig;
  let ns: TestNamespace;
  let controlPlane: ChartControlPlane | undefined;
  const REPLICAS = 2;

  before(async () => {
    kubeconfigPath = requireTestCluster();
    kc = testKubeConfig();
    ns = await createTestNamespace('chart-ha');
    await adoptExistingCrds(kc, ns.name);
    const file = valuesFile({
      global: { ...SCHEDULER_OFF, ha: { enabled: true, replicaCount: REPLICAS } },
      dapr_sidecar_injector: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } } },
      dapr_operator: { watchNamespace: ns.name },
    });
    try {
      await helmOk(['install', RELEASE, chartDir(), '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '-f', file.path, '--timeout', '2m']);
    } finally {
      file.cleanup();
    }
  });

  after(async () => {
    await controlPlane?.stop();
    if (ns) {
      await helmOk(['uninstall', RELEASE, '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '--ignore-not-found']).catch(() => undefined);
      await ns.cleanup();
    }
  });

  test(`${REPLICAS} replicas of each service become ready; one placement replica leads`, async () => {
    const logDir = join(repoRoot(), '.tsdapr', 'chart-control-plane-ha-logs');
    rmSync(logDir, { recursive: true, force: true });
    mkdirSync(logDir, { recursive: true });
    controlPlane = await startChartControlPlane({ kubeConfig: kc, namespace: ns.name, logDir });
    const byService = new Map<string, string[]>();
    for (const running of controlPlane.pods) {
      const service = running.pod.metadata?.annotations?.['dapr.io/control-plane'] ?? '';
      byService.set(service, [...(byService.get(service) ?? []), running.name]);
    }
    for (const service of ['sentry', 'operator', 'placement', 'injector']) assert.equal(byService.get(service)?.length, REPLICAS, `${service}: ${byService.get(service)?.join(', ')}`);
    // The replicas raced for the first trust bundle: one root came out of it, in the Secret and the ConfigMap alike.
    const core = kc.makeApiClient(CoreV1Api);
    const anchors = (await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: ns.name })).data?.['ca.crt'] ?? '';
    const secretAnchors = Buffer.from((await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: ns.name })).data?.['ca.crt'] ?? '', 'base64').toString('utf8');
    assert.equal(anchors.match(/BEGIN CERTIFICATE/g)?.length, 1, anchors);
    assert.equal(secretAnchors, anchors);

    // The workload controllers count the Ready pods shortly after.
    const status = await pollUntil('tsdapr status: every workload ready', async () => {
      const current = JSON.parse(await tsdaprStatus(ns.name, ['-o', 'json'])) as StatusJson;
      return current.workloads.every((w) => w.ready === REPLICAS) ? current : undefined;
    }, { timeoutMs: 30_000 });
    for (const workload of status.workloads) assert.equal(workload.replicas, REPLICAS, workload.name);
    assert.ok(byService.get('placement')?.includes(status.placement.leader ?? ''), `leader ${status.placement.leader} is one of ${byService.get('placement')?.join(', ')}`);
    // The operators elect theirs too, named by host name, which is the pod's.
    const operatorLease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'operator.dapr.io', namespace: ns.name });
    const holder = operatorLease.spec?.holderIdentity ?? '';
    assert.ok(byService.get('operator')?.some((pod) => holder.startsWith(`${pod}_`)), `operator Lease holder ${holder} is one of ${byService.get('operator')?.join(', ')}`);
    writeFileSync(join(repoRoot(), '.tsdapr', 'chart-status-ha.txt'), await tsdaprStatus(ns.name, []));
    // Two replicas each raced for the Leases, with the chart's defaults (missed-injection reporting off):
    // the chart's RBAC still let every replica do all it tried.
    for (const running of controlPlane.pods) {
      const denied = running.logs().split('\n').filter((line) => /is forbidden|\b403\b/.test(line));
      assert.deepEqual(denied.map((line) => line.slice(0, 400)), [], `${running.name} was refused by RBAC`);
    }
  });
});

interface StatusJson {
  workloads: { service: string; name: string; found: boolean; replicas: number; ready: number; version: string; quorum?: number }[];
  trust: { anchors: { daysLeft: number; warning: boolean; expired: boolean }[]; issuer?: { warning: boolean } };
  placement: { leader?: string };
  components?: { namespace: string; components: { name: string; type: string }[] }[];
  podsWithoutSidecar?: { namespace: string; name: string }[];
}

/** `tsdapr status` as a user runs it: the built bin, the admin kubeconfig, the release namespace. */
function tsdaprStatus(namespace: string, args: readonly string[]): Promise<string> {
  const main = join(repoRoot(), 'packages', 'status', 'dist', 'main.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [main, 'status', '--kubeconfig', requireTestCluster(), '-n', namespace, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`tsdapr status ${args.join(' ')} failed: ${stderr}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/**
 * CRDs created outside Helm (by another test, or by upstream Dapr's chart,
 * whose crds/ folder carries no ownership) are adopted the way Helm documents:
 * the managed-by label and the release annotations.
 */
async function adoptExistingCrds(kc: KubeConfig, namespace: string): Promise<void> {
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const existing = (await extensions.listCustomResourceDefinition()).items.filter((c) => CRD_NAMES.includes(c.metadata?.name ?? ''));
  for (const crd of existing) {
    const patch = [
      { op: 'add', path: '/metadata/labels', value: { ...crd.metadata?.labels, 'app.kubernetes.io/managed-by': 'Helm' } },
      { op: 'add', path: '/metadata/annotations', value: { ...crd.metadata?.annotations, 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': namespace } },
    ];
    await extensions.patchCustomResourceDefinition({ name: crd.metadata?.name ?? '', body: patch });
  }
}
