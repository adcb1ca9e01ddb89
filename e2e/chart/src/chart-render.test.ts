import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CHART_NODE_OPTIONS, repoRoot } from '@tsdapr/e2e-harness';
import { render, type K8sObject } from './helm.js';
import { SERVICES, container, env, flag, workload } from './workload.js';

interface ServiceObject {
  spec: { clusterIP?: string; publishNotReadyAddresses?: boolean; selector: Record<string, string>; ports: { name: string; port: number; targetPort: number | string }[] };
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface RoleObject {
  rules: Rule[];
}

describe('chart with default values', async () => {
  const m = await render();

  test('renders the control plane with upstream names', () => {
    for (const service of SERVICES) assert.equal(workload(m, service).spec.replicas, service === 'scheduler' ? 3 : 1, service);
    assert.equal(workload(m, 'placement').kind, 'StatefulSet');
    assert.equal(workload(m, 'placement').spec.podManagementPolicy, 'Parallel');
    for (const sa of ['dapr-sentry', 'dapr-operator', 'dapr-placement', 'dapr-injector', 'dapr-scheduler']) assert.ok(m.find('ServiceAccount', sa), sa);
    // Without HA only the scheduler's: its replicas are an etcd quorum whatever global.ha says (as upstream).
    assert.deepEqual(m.ofKind('PodDisruptionBudget').map((p) => p.metadata.name), ['dapr-scheduler-server-disruption-budget']);
    assert.deepEqual(
      m.ofKind('CustomResourceDefinition').map((c) => c.metadata.name).sort(),
      ['components.dapr.io', 'configurations.dapr.io', 'httpendpoints.dapr.io', 'resiliencies.dapr.io', 'subscriptions.dapr.io'],
    );
  });

  test('one image, the command picks the service', () => {
    for (const service of SERVICES) {
      const c = container(m, service);
      assert.equal(c.image, 'ghcr.io/tsdapr/tsdapr:edge');
      assert.deepEqual(c.command, ['node', `packages/${service}/dist/main.bundle.mjs`]);
    }
  });

  test('Services with upstream names and ports', () => {
    const ports = (name: string): [string, number, number | string][] =>
      m.get<ServiceObject>('Service', name).spec.ports.map((p) => [p.name, p.port, p.targetPort]);
    assert.deepEqual(ports('dapr-sentry'), [['grpc', 443, 50001]]);
    assert.deepEqual(ports('dapr-api'), [['grpc', 443, 6500], ['legacy', 80, 6500]]);
    assert.deepEqual(ports('dapr-webhook'), [['webhook', 443, 19443]]);
    assert.deepEqual(ports('dapr-placement-server'), [['api', 50005, 50005]]);
    assert.deepEqual(ports('dapr-sidecar-injector'), [['https', 443, 'https']]);
    const placement = m.get<ServiceObject>('Service', 'dapr-placement-server').spec;
    assert.equal(placement.clusterIP, 'None');
    assert.equal(placement.publishNotReadyAddresses, true);
    assert.deepEqual(m.get<ServiceObject>('Service', 'dapr-api').spec.selector, { app: 'dapr-operator' });
    assert.equal(container(m, 'injector').ports?.find((p) => p.name === 'https')?.containerPort, 4000);
  });

  test('pods: control-plane annotation, probes, security context', () => {
    for (const service of SERVICES) {
      const template = workload(m, service).spec.template;
      assert.equal(template.metadata.annotations['dapr.io/control-plane'], service);
      assert.equal(template.metadata.labels.app, workload(m, service).metadata.name);
      const c = container(m, service);
      assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 8080 });
      assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 8080 });
      assert.equal(flag(c, 'healthz-port'), '8080');
      assert.deepEqual(c.securityContext, { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      assert.equal(template.spec.securityContext?.runAsNonRoot, true);
      if (service !== 'scheduler') assert.equal(template.spec.affinity?.podAntiAffinity, undefined, `${service}: no anti-affinity without HA`);
    }
  });

  test('sentry token and trust anchors for placement, scheduler, operator and injector', () => {
    for (const service of ['placement', 'scheduler', 'operator', 'injector'] as const) {
      const spec = workload(m, service).spec.template.spec;
      const token = spec.volumes?.find((v) => v.name === 'dapr-identity-token')?.projected?.sources[0]?.serviceAccountToken;
      assert.deepEqual(token, { path: 'token', expirationSeconds: 600, audience: 'spiffe://cluster.local/ns/dapr-system/dapr-sentry' }, service);
      assert.equal(spec.volumes?.find((v) => v.name === 'dapr-trust-bundle')?.configMap?.name, 'dapr-trust-bundle');
      const mounts = Object.fromEntries((container(m, service).volumeMounts ?? []).map((v) => [v.name, v.mountPath]));
      assert.equal(mounts['dapr-identity-token'], '/var/run/secrets/dapr.io/sentrytoken');
      assert.equal(mounts['dapr-trust-bundle'], '/var/run/secrets/dapr.io/tls');
    }
    const sentry = workload(m, 'sentry').spec.template.spec;
    assert.equal(sentry.volumes?.find((v) => v.name === 'credentials')?.secret?.secretName, 'dapr-trust-bundle');
    assert.equal(sentry.volumes?.find((v) => v.name === 'dapr-identity-token'), undefined, 'sentry needs no token for itself');
  });

  test('service flags', () => {
    const sentry = container(m, 'sentry');
    assert.equal(flag(sentry, 'mode'), 'kubernetes');
    assert.equal(flag(sentry, 'trust-domain'), 'cluster.local');
    assert.equal(flag(sentry, 'config'), 'daprsystem');
    assert.equal(flag(sentry, 'port'), '50001');
    const placement = container(m, 'placement');
    assert.equal(flag(placement, 'mode'), 'kubernetes');
    assert.equal(flag(placement, 'id'), '$(POD_NAME)');
    assert.equal(flag(placement, 'tls-enabled'), 'true');
    assert.equal(flag(placement, 'sentry-address'), 'dapr-sentry.dapr-system.svc.cluster.local:443');
    assert.equal(flag(placement, 'replicationFactor'), '100');
    assert.equal(flag(placement, 'keepalive-time'), '2s');
    const injector = container(m, 'injector');
    assert.equal(env(injector, 'SIDECAR_IMAGE'), 'ghcr.io/dapr/daprd:1.17.5');
    assert.equal(env(injector, 'DAPR_TRUST_ANCHORS_FILE'), '/var/run/secrets/dapr.io/tls/ca.crt');
    assert.equal(env(injector, 'DAPR_SENTRY_ADDRESS'), 'dapr-sentry.dapr-system.svc.cluster.local:443');
    assert.equal(env(injector, 'NATIVE_SIDECAR_ENABLED'), 'false');
    const operator = container(m, 'operator');
    assert.equal(flag(operator, 'api-port'), '6500');
    assert.equal(flag(operator, 'webhook-port'), '19443');
    assert.equal(flag(operator, 'disable-service-reconciler'), 'false');
  });

  test('the mutating webhook as upstream registers it', () => {
    const mwc = m.get<{ webhooks: Record<string, unknown>[] }>('MutatingWebhookConfiguration', 'dapr-sidecar-injector');
    assert.equal(mwc.webhooks.length, 1);
    const hook = mwc.webhooks[0]!;
    assert.equal(hook.name, 'sidecar-injector.dapr.io');
    assert.deepEqual(hook.clientConfig, { service: { namespace: 'dapr-system', name: 'dapr-sidecar-injector', path: '/mutate' } });
    assert.deepEqual(hook.rules, [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }]);
    assert.equal(hook.failurePolicy, 'Ignore');
    assert.equal(hook.sideEffects, 'None');
    assert.equal(hook.reinvocationPolicy, 'IfNeeded');
    assert.deepEqual(hook.admissionReviewVersions, ['v1', 'v1beta1']);
    assert.equal(hook.namespaceSelector, undefined);
    assert.equal(hook.timeoutSeconds, undefined);
  });

  test("the operator's validating webhook for Components belongs to the chart", () => {
    const vwc = m.get<{ webhooks: Record<string, unknown>[] } & K8sObject>('ValidatingWebhookConfiguration', 'dapr-operator');
    assert.equal(m.ofKind('ValidatingWebhookConfiguration').length, 1);
    assert.equal(vwc.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
    assert.deepEqual(vwc.webhooks, [
      {
        name: 'components.validation.dapr.io',
        // No caBundle: the operator patches the trust anchors in; Helm's three-way merge keeps them on upgrade.
        clientConfig: { service: { namespace: 'dapr-system', name: 'dapr-webhook', path: '/validate', port: 443 } },
        rules: [{ apiGroups: ['dapr.io'], apiVersions: ['v1alpha1'], resources: ['components'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }],
        failurePolicy: 'Ignore',
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        timeoutSeconds: 5,
        admissionReviewVersions: ['v1'],
        namespaceSelector: {},
        objectSelector: {},
      },
    ]);
    // The operator runs in the mode that patches it rather than creating its own.
    const operator = container(m, 'operator');
    assert.equal(flag(operator, 'webhook-registration'), undefined, 'the default, service');
    assert.equal(flag(operator, 'validating-webhook-configuration-name'), undefined, 'the default, dapr-operator');
  });

  test('least-privilege RBAC: no wildcard (the exact rules of each ServiceAccount: chart-rbac.test.ts)', () => {
    for (const role of [...m.ofKind('ClusterRole'), ...m.ofKind('Role')] as unknown as (RoleObject & K8sObject)[]) {
      for (const rule of role.rules) assert.ok(!rule.verbs.includes('*') && !rule.resources.includes('*'), role.metadata.name);
    }
  });

  test('trust bundle objects start empty; daprsystem Configuration from global.mtls', () => {
    const secret = m.get<{ data?: unknown; type: string }>('Secret', 'dapr-trust-bundle');
    assert.equal(secret.data, undefined);
    assert.equal(secret.type, 'Opaque');
    assert.equal(m.get<{ data?: unknown }>('ConfigMap', 'dapr-trust-bundle').data, undefined);
    const config = m.get<{ spec: { mtls: Record<string, unknown> } } & K8sObject>('Configuration', 'daprsystem');
    assert.deepEqual(config.spec.mtls, { enabled: true, workloadCertTTL: '24h', allowedClockSkew: '15m', controlPlaneTrustDomain: 'cluster.local', sentryAddress: 'dapr-sentry.dapr-system.svc.cluster.local:443' });
    assert.equal(config.metadata.annotations?.['helm.sh/hook'], 'post-install,post-upgrade');
  });

  test('CRDs are kept on uninstall and convert through the release namespace', () => {
    for (const crd of m.ofKind('CustomResourceDefinition')) assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep', crd.metadata.name);
    const subs = m.get<{ spec: { conversion: { webhook: { clientConfig: { service: { namespace: string; name: string } } } } } }>('CustomResourceDefinition', 'subscriptions.dapr.io');
    assert.deepEqual(subs.spec.conversion.webhook.clientConfig.service.namespace, 'dapr-system');
    assert.equal(subs.spec.conversion.webhook.clientConfig.service.name, 'dapr-webhook');
  });
});

describe('chart in HA mode', async () => {
  const m = await render({ global: { ha: { enabled: true } } });

  test('three replicas with anti-affinity', () => {
    for (const service of SERVICES) {
      const w = workload(m, service);
      assert.equal(w.spec.replicas, 3, service);
      const anti = w.spec.template.spec.affinity?.podAntiAffinity as { preferredDuringSchedulingIgnoredDuringExecution: { weight: number; podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } } }[] };
      const [term] = anti.preferredDuringSchedulingIgnoredDuringExecution;
      assert.equal(term?.podAffinityTerm.topologyKey, 'topology.kubernetes.io/zone');
      assert.deepEqual(term?.podAffinityTerm.labelSelector.matchLabels, w.spec.selector.matchLabels);
    }
  });

  test('PodDisruptionBudgets with upstream names', () => {
    const pdbs = m.ofKind('PodDisruptionBudget') as unknown as ({ spec: { maxUnavailable?: string; minAvailable?: string; selector: { matchLabels: Record<string, string> } } } & K8sObject)[];
    assert.deepEqual(pdbs.map((p) => p.metadata.name).sort(), ['dapr-operator-disruption-budget', 'dapr-placement-server-disruption-budget', 'dapr-scheduler-server-disruption-budget', 'dapr-sentry-budget', 'dapr-sidecar-injector-disruption-budget']);
    for (const pdb of pdbs) {
      assert.equal(pdb.apiVersion, 'policy/v1');
      assert.equal(pdb.spec.maxUnavailable, '25%');
      assert.equal(pdb.spec.minAvailable, undefined);
    }
    assert.deepEqual(m.get<{ spec: { selector: { matchLabels: unknown } } }>('PodDisruptionBudget', 'dapr-sentry-budget').spec.selector.matchLabels, { app: 'dapr-sentry' });
  });

  test('minimumAvailable wins; required anti-affinity applies to placement only', async () => {
    const custom = await render({ global: { ha: { enabled: true, replicaCount: 5, podAntiAffinityPolicy: 'requiredDuringSchedulingIgnoredDuringExecution', disruption: { minimumAvailable: 2 } } } });
    for (const pdb of custom.ofKind('PodDisruptionBudget') as unknown as { spec: Record<string, unknown> }[]) {
      assert.equal(pdb.spec.minAvailable, 2);
      assert.equal(pdb.spec.maxUnavailable, undefined);
    }
    assert.equal(workload(custom, 'placement').spec.replicas, 5);
    assert.ok('requiredDuringSchedulingIgnoredDuringExecution' in (workload(custom, 'placement').spec.template.spec.affinity?.podAntiAffinity ?? {}));
    assert.ok('preferredDuringSchedulingIgnoredDuringExecution' in (workload(custom, 'sentry').spec.template.spec.affinity?.podAntiAffinity ?? {}));
  });

  test('placement alone in HA', async () => {
    const custom = await render({ dapr_placement: { ha: true } });
    assert.equal(workload(custom, 'placement').spec.replicas, 3);
    assert.equal(workload(custom, 'sentry').spec.replicas, 1);
  });
});

describe('chart with other values', () => {
  test('custom trust domain reaches sentry, placement, operator, injector, the token audience and daprsystem', async () => {
    const m = await render({ global: { mtls: { controlPlaneTrustDomain: 'example.org' } } }, { namespace: 'cp' });
    assert.equal(flag(container(m, 'sentry'), 'trust-domain'), 'example.org');
    assert.equal(flag(container(m, 'placement'), 'trust-domain'), 'example.org');
    assert.equal(flag(container(m, 'operator'), 'trust-domain'), 'example.org');
    assert.equal(env(container(m, 'injector'), 'DAPR_CONTROL_PLANE_TRUST_DOMAIN'), 'example.org');
    const token = workload(m, 'placement').spec.template.spec.volumes?.find((v) => v.name === 'dapr-identity-token')?.projected?.sources[0]?.serviceAccountToken;
    assert.equal(token?.audience, 'spiffe://example.org/ns/cp/dapr-sentry');
    assert.equal(m.get<{ spec: { mtls: { controlPlaneTrustDomain: string } } }>('Configuration', 'daprsystem').spec.mtls.controlPlaneTrustDomain, 'example.org');
    assert.equal(flag(container(m, 'placement'), 'sentry-address'), 'dapr-sentry.cp.svc.cluster.local:443');
  });

  test('native sidecars', async () => {
    const m = await render({ dapr_sidecar_injector: { nativeSidecar: true } }, { kubeVersion: '1.29.0' });
    assert.equal(env(container(m, 'injector'), 'NATIVE_SIDECAR_ENABLED'), 'true');
  });

  test('custom registry and tag; the sidecar image stays daprd', async () => {
    const m = await render({ global: { registry: 'registry.example.com/team', tag: '1.2.3', imagePullSecrets: 'pull-a, pull-b' }, dapr_sidecar_injector: { image: { name: 'mirror.example.com/daprd:1.17.5' } } });
    for (const service of SERVICES) {
      assert.equal(container(m, service).image, 'registry.example.com/team/tsdapr:1.2.3');
      assert.deepEqual((workload(m, service).spec.template.spec as { imagePullSecrets?: unknown }).imagePullSecrets, [{ name: 'pull-a' }, { name: 'pull-b' }]);
    }
    assert.equal(env(container(m, 'injector'), 'SIDECAR_IMAGE'), 'mirror.example.com/daprd:1.17.5');
    assert.equal(workload(m, 'sentry').spec.template.metadata.labels['app.kubernetes.io/version'], '1.2.3');
  });

  test('a supplied trust bundle prefills the Secret and ConfigMap under the chosen key names', async () => {
    const pem = (what: string): string => `-----BEGIN ${what}-----\nAAAA\n-----END ${what}-----\n`;
    const m = await render({
      global: { issuerFilenames: { ca: 'root.pem', cert: 'tls.crt', key: 'tls.key' } },
      dapr_sentry: { tls: { root: { certPEM: pem('CERTIFICATE') }, issuer: { certPEM: pem('CERTIFICATE'), keyPEM: pem('PRIVATE KEY') } } },
    });
    const secret = m.get<{ data: Record<string, string> }>('Secret', 'dapr-trust-bundle');
    assert.deepEqual(Object.keys(secret.data).sort(), ['root.pem', 'tls.crt', 'tls.key']);
    assert.equal(Buffer.from(secret.data['tls.key']!, 'base64').toString(), pem('PRIVATE KEY'));
    assert.equal(m.get<{ data: Record<string, string> }>('ConfigMap', 'dapr-trust-bundle').data['root.pem'], pem('CERTIFICATE'));
    assert.equal(flag(container(m, 'sentry'), 'issuer-ca-filename'), 'root.pem');
    assert.equal(flag(container(m, 'placement'), 'trust-anchors-file'), '/var/run/secrets/dapr.io/tls/root.pem');
  });

  test('mTLS off, webhook Fail with selectors, injector disabled', async () => {
    const off = await render({ global: { mtls: { enabled: false } }, dapr_sidecar_injector: { webhookFailurePolicy: 'Fail', namespaceSelector: { matchLabels: { dapr: 'on' } } } });
    assert.equal(flag(container(off, 'placement'), 'tls-enabled'), 'false');
    const hook = off.get<{ webhooks: Record<string, unknown>[] }>('MutatingWebhookConfiguration', 'dapr-sidecar-injector').webhooks[0]!;
    assert.equal(hook.failurePolicy, 'Fail');
    assert.deepEqual(hook.namespaceSelector, { matchLabels: { dapr: 'on' } });
    const without = await render({ dapr_sidecar_injector: { enabled: false } });
    assert.equal(without.find('Deployment', 'dapr-sidecar-injector'), undefined);
    assert.equal(without.find('MutatingWebhookConfiguration', 'dapr-sidecar-injector'), undefined);
    assert.equal(without.find('ClusterRole', 'dapr-injector'), undefined);
  });

  test('operator SVID from a Secret', async () => {
    const m = await render({ dapr_operator: { tls: { secretName: 'operator-svid' }, watchNamespace: 'apps', serviceReconciler: { enabled: false } } });
    const c = container(m, 'operator');
    assert.equal(flag(c, 'tls-cert-file'), '/var/run/secrets/dapr.io/operator-tls/tls.crt');
    assert.equal(flag(c, 'watch-namespace'), 'apps');
    assert.equal(flag(c, 'disable-service-reconciler'), 'true');
    assert.equal(workload(m, 'operator').spec.template.spec.volumes?.find((v) => v.name === 'operator-tls')?.secret?.secretName, 'operator-svid');
    // The webhook's facts come from the watched namespace only: the API server sends only its Components.
    const vwc = m.get<{ webhooks: { namespaceSelector?: unknown }[] }>('ValidatingWebhookConfiguration', 'dapr-operator');
    assert.deepEqual(vwc.webhooks[0]?.namespaceSelector, { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } });
  });

  test('placement scaled to zero', async () => {
    assert.equal(workload(await render({ dapr_placement: { scaleZero: true } }), 'placement').spec.replicas, 0);
  });

  test('nodeOptions becomes NODE_OPTIONS of that service only; the defaults are what the harness runs with', async () => {
    const m = await render({ dapr_placement: { nodeOptions: '--max-old-space-size=512' }, dapr_operator: { nodeOptions: '' } });
    assert.equal(env(container(m, 'placement'), 'NODE_OPTIONS'), '--max-old-space-size=512');
    for (const service of SERVICES.filter((s) => s !== 'placement')) assert.equal(env(container(m, service), 'NODE_OPTIONS'), undefined, service);
    const defaults = await render();
    for (const service of SERVICES) assert.equal(env(container(defaults, service), 'NODE_OPTIONS') ?? '', CHART_NODE_OPTIONS[service], service);
    assert.equal(CHART_NODE_OPTIONS.operator, '--max-semi-space-size=1');
  });
});

interface SchedulerService {
  spec: { clusterIP?: string; type?: string; publishNotReadyAddresses?: boolean; selector: Record<string, string>; ports: { name: string; port: number; targetPort: number | string }[] };
}

/** The injector's scheduler address for sidecars, from the built injector (the same function its webhook calls). */
async function injectorSchedulerAddress(namespace: string, clusterDomain: string): Promise<string> {
  const settings = (await import(join(repoRoot(), 'packages', 'injector', 'dist', 'patch', 'injector-settings.js'))) as { schedulerAddress: (namespace: string, clusterDomain: string) => string };
  return settings.schedulerAddress(namespace, clusterDomain);
}

describe('scheduler', async () => {
  const m = await render();
  const scheduler = container(m, 'scheduler');

  test('a StatefulSet of three etcd members with upstream names', () => {
    const w = workload(m, 'scheduler');
    assert.equal(w.kind, 'StatefulSet');
    assert.equal(w.spec.replicas, 3);
    assert.equal(w.spec.serviceName, 'dapr-scheduler-server');
    assert.equal(w.spec.podManagementPolicy, 'Parallel');
    assert.deepEqual(w.spec.selector.matchLabels, { app: 'dapr-scheduler-server' });
    const pod = w.spec.template;
    assert.equal(pod.metadata.annotations['dapr.io/control-plane'], 'scheduler');
    assert.equal(pod.spec.serviceAccountName, 'dapr-scheduler');
    assert.equal(pod.spec.securityContext?.fsGroup, 65532);
    assert.equal(scheduler.name, 'dapr-scheduler-server');
    assert.deepEqual(
      scheduler.ports?.map((p) => [p.name, p.containerPort]),
      [['api', 50006], ['etcd-client', 2379], ['etcd-peer', 2380], ['healthz', 8080], ['metrics', 9090]],
    );
    // Three replicas: spread over zones even without HA mode, as upstream.
    const anti = pod.spec.affinity?.podAntiAffinity as { preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm: { topologyKey: string } }[] } | undefined;
    assert.equal(anti?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey, 'topology.kubernetes.io/zone');
  });

  test('flags: upstream names, every replica in the initial cluster, a data directory per member', () => {
    assert.equal(flag(scheduler, 'mode'), 'kubernetes');
    assert.equal(flag(scheduler, 'listen-address'), '0.0.0.0');
    assert.equal(flag(scheduler, 'port'), '50006');
    assert.equal(flag(scheduler, 'id'), '$(SCHEDULER_ID)');
    assert.ok(scheduler.args?.includes('--tls-enabled'));
    assert.equal(flag(scheduler, 'trust-domain'), 'cluster.local');
    assert.equal(flag(scheduler, 'trust-anchors-file'), '/var/run/secrets/dapr.io/tls/ca.crt');
    assert.equal(flag(scheduler, 'sentry-address'), 'dapr-sentry.dapr-system.svc.cluster.local:443');
    assert.equal(flag(scheduler, 'sentry-token-file'), '/var/run/secrets/dapr.io/sentrytoken/token');
    assert.equal(flag(scheduler, 'etcd-embed'), 'true');
    assert.deepEqual(flag(scheduler, 'etcd-initial-cluster')?.split(','), [0, 1, 2].map((i) => `dapr-scheduler-server-${i}=http://dapr-scheduler-server-${i}.dapr-scheduler-server.dapr-system.svc.cluster.local:2380`));
    assert.equal(flag(scheduler, 'etcd-data-dir'), '/var/run/data/dapr-scheduler/dapr-system/$(SCHEDULER_ID)');
    assert.equal(flag(scheduler, 'etcd-client-port'), '2379');
    assert.equal(flag(scheduler, 'etcd-peer-port'), '2380');
    assert.deepEqual(
      ['etcd-space-quota', 'etcd-compaction-mode', 'etcd-compaction-retention', 'etcd-snapshot-count', 'etcd-max-snapshots', 'etcd-max-wals', 'etcd-backend-batch-limit', 'etcd-backend-batch-interval', 'etcd-max-txn-ops', 'etcd-experimental-bootstrap-defrag-threshold-megabytes'].map((name) => flag(scheduler, name)),
      ['9.2E', 'revision', '1000000', '100000', '10', '10', '10000', '100ms', '10000', '100'],
    );
    assert.equal(flag(scheduler, 'etcd-client-endpoints'), undefined);
    assert.equal(flag(scheduler, 'override-broadcast-host-port'), undefined);
    assert.equal(flag(scheduler, 'healthz-port'), '8080');
    assert.equal(flag(scheduler, 'metrics-port'), '9090');
  });

  test('env: the pod name as the id, the namespace, the pod IP as the announced host', () => {
    const fieldOf = (name: string): string | undefined => scheduler.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
    assert.equal(fieldOf('SCHEDULER_ID'), 'metadata.name');
    assert.equal(fieldOf('NAMESPACE'), 'metadata.namespace');
    assert.equal(fieldOf('DAPR_HOST_IP'), 'status.podIP');
    assert.equal(scheduler.env?.find((e) => e.name === 'DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD'), undefined);
  });

  test("probes: /healthz and /readyz on the health port, upstream's timings", () => {
    assert.deepEqual(scheduler.livenessProbe, { httpGet: { path: '/healthz', port: 8080 }, initialDelaySeconds: 10, periodSeconds: 3, failureThreshold: 5 });
    assert.deepEqual(scheduler.readinessProbe, { httpGet: { path: '/readyz', port: 8080 }, initialDelaySeconds: 3, periodSeconds: 3, failureThreshold: 5 });
    // The other services keep the global timings.
    assert.equal(container(m, 'placement').livenessProbe?.initialDelaySeconds, 180);
  });

  test('a 16Gi ReadWriteOnce PVC per replica, mounted at the data path', () => {
    const w = workload(m, 'scheduler');
    assert.deepEqual(
      w.spec.volumeClaimTemplates?.map((t) => [t.metadata.name, t.spec.accessModes, t.spec.storageClassName, t.spec.resources.requests.storage]),
      [['dapr-scheduler-data-dir', ['ReadWriteOnce'], undefined, '16Gi']],
    );
    assert.equal(w.spec.template.spec.volumes?.find((v) => v.name === 'dapr-scheduler-data-dir'), undefined, 'from the claim template, not a pod volume');
    assert.equal(scheduler.volumeMounts?.find((v) => v.name === 'dapr-scheduler-data-dir')?.mountPath, '/var/run/data/dapr-scheduler');
  });

  test('Services: dapr-scheduler-server-a 443 -> api, headless dapr-scheduler-server; both publish not-ready pods', () => {
    const a = m.get<SchedulerService>('Service', 'dapr-scheduler-server-a').spec;
    assert.equal(a.type, 'ClusterIP');
    assert.equal(a.clusterIP, undefined);
    assert.equal(a.publishNotReadyAddresses, true);
    assert.deepEqual(a.selector, { app: 'dapr-scheduler-server' });
    assert.deepEqual(a.ports.map((p) => [p.name, p.port, p.targetPort]), [['api', 443, 50006]]);
    const headless = m.get<SchedulerService>('Service', 'dapr-scheduler-server').spec;
    assert.equal(headless.clusterIP, 'None');
    assert.equal(headless.publishNotReadyAddresses, true);
    assert.deepEqual(headless.ports.map((p) => [p.name, p.port, p.targetPort]), [['api', 50006, 50006], ['etcd-client', 2379, 2379], ['etcd-peer', 2380, 2380], ['metrics', 9090, 9090]]);
  });

  test("the injector's scheduler address names the chart's Service, its port 443 reaches the api port", async () => {
    for (const [namespace, clusterDomain] of [['dapr-system', 'cluster.local'], ['cp', 'k.local']] as const) {
      const rendered = namespace === 'dapr-system' ? m : await render({ dapr_sidecar_injector: { kubeClusterDomain: clusterDomain } }, { namespace });
      const injector = container(rendered, 'injector');
      assert.equal(flag(injector, 'scheduler-enabled'), 'true');
      assert.equal(env(injector, 'KUBE_CLUSTER_DOMAIN'), clusterDomain);
      const address = await injectorSchedulerAddress(namespace, clusterDomain);
      const match = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.(.+):(\d+)$/.exec(address);
      assert.ok(match, address);
      const [, name, ns, domain, port] = match;
      assert.equal(ns, namespace);
      assert.equal(domain, clusterDomain);
      const service = rendered.get<SchedulerService & K8sObject>('Service', name ?? '');
      assert.equal(service.metadata.namespace, namespace);
      const target = service.spec.ports.find((p) => p.port === Number(port))?.targetPort;
      assert.equal(target, container(rendered, 'scheduler').ports?.find((p) => p.name === 'api')?.containerPort, `${address} reaches the scheduler's api port`);
    }
  });

  test('least privilege: a ServiceAccount, no Role, no ClusterRole', () => {
    assert.ok(m.find('ServiceAccount', 'dapr-scheduler'));
    for (const kind of ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']) {
      assert.deepEqual(m.ofKind(kind).filter((o) => o.metadata.name.includes('scheduler') || JSON.stringify(o).includes('"dapr-scheduler"')).map((o) => o.metadata.name), [], kind);
    }
  });

  test('in-memory storage: an emptyDir, no claim template', async () => {
    const mem = await render({ dapr_scheduler: { cluster: { inMemoryStorage: true } } });
    const w = workload(mem, 'scheduler');
    assert.equal(w.spec.volumeClaimTemplates, undefined);
    assert.deepEqual(w.spec.template.spec.volumes?.find((v) => v.name === 'dapr-scheduler-data-dir')?.emptyDir, { medium: 'Memory' });
    assert.equal(container(mem, 'scheduler').volumeMounts?.find((v) => v.name === 'dapr-scheduler-data-dir')?.mountPath, '/var/run/data/dapr-scheduler');
  });

  test('custom values: replicas, storage, ports, paths, DNS suffix, annotations, env, big integers', async () => {
    const c = await render(
      {
        global: { dnsSuffix: '.example.internal', mtls: { enabled: false } },
        dapr_scheduler: {
          replicaCount: 5,
          logLevel: 'debug',
          cluster: { storageClassName: 'fast-ssd', storageSize: '50Gi', etcdDataDirPath: '/var/run/data/jobs' },
          ports: { etcdGRPCClientPort: 12379, etcdGRPCPeerPort: 12380 },
          etcdSnapshotCount: 10_000_000,
          etcdCompactionMode: 'periodic',
          etcdCompactionRetention: '10m',
          overrideBroadcastHostPort: 'scheduler.example.com:50006',
          statefulsetAnnotations: { 'example.com/owner': 'jobs' },
          service: { annotations: { 'example.com/lb': 'internal' } },
          extraEnvVars: { GODEBUG: 'x=1', RETRIES: 3 },
          nodeOptions: '--max-old-space-size=256',
        },
      },
      { namespace: 'cp' },
    );
    const w = workload(c, 'scheduler');
    const s = container(c, 'scheduler');
    assert.equal(w.spec.replicas, 5);
    // Upstream's statefulsetAnnotations go on the pods, as upstream's chart puts them.
    assert.equal(w.spec.template.metadata.annotations['example.com/owner'], 'jobs');
    assert.equal(w.metadata.annotations?.['example.com/owner'], undefined);
    const members = flag(s, 'etcd-initial-cluster')?.split(',') ?? [];
    assert.equal(members.length, 5);
    assert.equal(members[4], 'dapr-scheduler-server-4=http://dapr-scheduler-server-4.dapr-scheduler-server.cp.svc.example.internal:12380');
    assert.equal(flag(s, 'etcd-data-dir'), '/var/run/data/jobs/cp/$(SCHEDULER_ID)');
    assert.equal(flag(s, 'etcd-client-port'), '12379');
    assert.equal(flag(s, 'etcd-peer-port'), '12380');
    assert.equal(flag(s, 'etcd-snapshot-count'), '10000000', 'an integer, not 1e+07');
    assert.equal(flag(s, 'etcd-compaction-mode'), 'periodic');
    assert.equal(flag(s, 'etcd-compaction-retention'), '10m');
    assert.equal(flag(s, 'override-broadcast-host-port'), 'scheduler.example.com:50006');
    assert.equal(flag(s, 'log-level'), 'debug');
    assert.equal(flag(s, 'sentry-address'), 'dapr-sentry.cp.svc.example.internal:443');
    assert.ok(!s.args?.includes('--tls-enabled'), 'mTLS off: not asked for (kubernetes mode serves mTLS anyway)');
    assert.equal(env(s, 'GODEBUG'), 'x=1');
    assert.equal(env(s, 'RETRIES'), '3');
    assert.equal(env(s, 'NODE_OPTIONS'), '--max-old-space-size=256');
    assert.deepEqual(w.spec.volumeClaimTemplates?.map((t) => [t.spec.storageClassName, t.spec.resources.requests.storage]), [['fast-ssd', '50Gi']]);
    assert.equal(s.volumeMounts?.find((v) => v.name === 'dapr-scheduler-data-dir')?.mountPath, '/var/run/data/jobs');
    assert.deepEqual(s.ports?.filter((p) => p.name.startsWith('etcd')).map((p) => p.containerPort), [12379, 12380]);
    for (const name of ['dapr-scheduler-server-a', 'dapr-scheduler-server']) assert.equal(c.get<K8sObject>('Service', name).metadata.annotations?.['example.com/lb'], 'internal', name);
  });

  test('an external etcd: no member flags, the password from a Secret and never an argument', async () => {
    const ext = await render({ dapr_scheduler: { etcdEmbed: false, etcdClientEndpoints: ['https://etcd-0.db:2379', 'https://etcd-1.db:2379'], etcdClientUsername: 'jobs', etcdClientPassword: 's3cret' } });
    const s = container(ext, 'scheduler');
    assert.equal(flag(s, 'etcd-embed'), 'false');
    assert.equal(flag(s, 'etcd-client-endpoints'), 'https://etcd-0.db:2379,https://etcd-1.db:2379');
    assert.equal(flag(s, 'etcd-client-username'), 'jobs');
    assert.equal(flag(s, 'etcd-initial-cluster'), undefined);
    assert.equal(flag(s, 'etcd-data-dir'), undefined);
    assert.ok(!JSON.stringify(s.args).includes('s3cret'), 'no password in the arguments');
    assert.equal(flag(s, 'etcd-client-password'), undefined);
    assert.deepEqual(s.env?.find((e) => e.name === 'DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'dapr-scheduler-etcd-client', key: 'password' });
    const secret = ext.get<{ data: Record<string, string> }>('Secret', 'dapr-scheduler-etcd-client');
    assert.equal(Buffer.from(secret.data.password ?? '', 'base64').toString(), 's3cret');
    // Without a password: no Secret, no env.
    const noPassword = await render({ dapr_scheduler: { etcdEmbed: false, etcdClientEndpoints: ['http://etcd:2379'] } });
    assert.equal(noPassword.find('Secret', 'dapr-scheduler-etcd-client'), undefined);
    assert.equal(container(noPassword, 'scheduler').env?.find((e) => e.name === 'DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD'), undefined);
    assert.equal(m.find('Secret', 'dapr-scheduler-etcd-client'), undefined, 'embedded: no Secret');
  });

  test('global.scheduler.enabled=false: no scheduler object, sidecars get no scheduler address', async () => {
    const off = await render({ global: { scheduler: { enabled: false } } });
    assert.deepEqual(off.objects.filter((o) => o.metadata.name.includes('scheduler')).map((o) => `${o.kind}/${o.metadata.name}`), []);
    assert.equal(flag(container(off, 'injector'), 'scheduler-enabled'), 'false');
  });

  test('the metrics port leaves the Services and the container with Prometheus off', async () => {
    const off = await render({ global: { prometheus: { enabled: false } } });
    assert.deepEqual(off.get<SchedulerService>('Service', 'dapr-scheduler-server').spec.ports.map((p) => p.name), ['api', 'etcd-client', 'etcd-peer']);
    assert.equal(flag(container(off, 'scheduler'), 'enable-metrics'), 'false');
    assert.equal(container(off, 'scheduler').ports?.find((p) => p.name === 'metrics'), undefined);
  });
});
