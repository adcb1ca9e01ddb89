import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@tsdapr/e2e-harness';
import yaml from 'js-yaml';
import type { K8sObject, Manifest } from './helm.js';

/** The upstream Dapr release whose chart tsdapr's is a drop-in for. */
export const UPSTREAM_VERSION = '1.17.5';

/**
 * Upstream's chart (charts/dapr) in the Go module cache: e2e/daprd-1.17's go.mod requires
 * github.com/dapr/dapr at this version, so `go mod download` there fetches it. Read at test time, never copied.
 */
export function upstreamChartDir(): string {
  const moduleDir = join(repoRoot(), 'e2e', 'daprd-1.17');
  const gomodcache = execFileSync('go', ['env', 'GOMODCACHE'], { cwd: moduleDir, encoding: 'utf8', timeout: 30_000 }).trim();
  const dir = join(gomodcache, 'github.com', 'dapr', `dapr@v${UPSTREAM_VERSION}`, 'charts', 'dapr');
  if (!existsSync(join(dir, 'values.yaml'))) throw new Error(`upstream's chart is not at ${dir}: run \`go mod download github.com/dapr/dapr\` in ${moduleDir}`);
  return dir;
}

/** Upstream's complete default values as users copy them: the umbrella values.yaml, each subchart's values under its name (as helm merges them). */
export function upstreamDefaultValues(dir = upstreamChartDir()): Record<string, unknown> {
  const values = yaml.load(readFileSync(join(dir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  for (const sub of readdirSync(join(dir, 'charts')).sort()) {
    const file = join(dir, 'charts', sub, 'values.yaml');
    if (existsSync(file)) values[sub] = { ...(yaml.load(readFileSync(file, 'utf8')) as Record<string, unknown>), ...((values[sub]) ?? {}) };
  }
  return values;
}

/** Every value path of a values tree: a leaf is a scalar, a list, or an empty map (`extraEnvVars: {}`). Keys may contain dots (k8sLabels). */
export function valuePaths(values: unknown, prefix: readonly string[] = []): string[][] {
  if (values && typeof values === 'object' && !Array.isArray(values) && Object.keys(values).length > 0) {
    return Object.entries(values).flatMap(([key, child]) => valuePaths(child, [...prefix, key]));
  }
  return [[...prefix]];
}

/** A path as the README and error messages spell it: keys joined with dots. */
export const pathName = (path: readonly string[]): string => path.join('.');

/** A path as helm's --set-json takes it: dots inside a key escaped. */
export const setPath = (path: readonly string[]): string => path.map((k) => k.replaceAll('.', '\\.')).join('.');

// ---------------------------------------------------------------------------------------------
// What each upstream value does in tsdapr's chart.

/** Rendered fields compared between the two charts: found on both renders with the same names. */
export type Pick = (m: Manifest) => unknown;

export interface Honoured {
  readonly status: 'honoured';
  /** The value --set-json gives the path (with `also`, other paths it needs, e.g. HA on for a topology key). */
  readonly value: unknown;
  readonly also?: Readonly<Record<string, unknown>>;
  /** The fields the value changes, upstream's and ours alike. */
  readonly pick: Pick;
  /** Why it is only partly upstream's, when it is. */
  readonly note?: string;
}
export interface WithoutEffect {
  readonly status: 'without effect';
  readonly why: string;
  /** A value that differs from the default, to prove it changes nothing. */
  readonly value: unknown;
  readonly also?: Readonly<Record<string, unknown>>;
}
export interface Replaced {
  readonly status: 'replaced';
  readonly by: string;
  readonly value: unknown;
  readonly also?: Readonly<Record<string, unknown>>;
  readonly pick: Pick;
}
export type Treatment = Honoured | WithoutEffect | Replaced;

const WORKLOAD = { sentry: 'dapr-sentry', operator: 'dapr-operator', placement: 'dapr-placement-server', injector: 'dapr-sidecar-injector', scheduler: 'dapr-scheduler-server' } as const;
type Service = keyof typeof WORKLOAD;
const BLOCK: Record<Service, string> = { sentry: 'dapr_sentry', operator: 'dapr_operator', placement: 'dapr_placement', injector: 'dapr_sidecar_injector', scheduler: 'dapr_scheduler' };

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Record<string, unknown> & { httpGet?: { port: unknown } };
  readinessProbe?: Record<string, unknown>;
  securityContext?: Record<string, unknown> & { seccompProfile?: { type: string } };
  resources?: unknown;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string }[];
  imagePullSecrets?: { name: string }[];
  priorityClassName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  hostNetwork?: boolean;
  securityContext?: { fsGroup?: number; runAsNonRoot?: boolean };
  affinity?: {
    nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: { matchExpressions: { key: string; values: string[] }[] }[] } };
    podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm: { topologyKey: string } }[] };
  };
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { spec: { storageClassName?: string; resources: { requests: { storage: string } } } }[];
  };
}

function workload(m: Manifest, service: Service): Workload | undefined {
  const name = WORKLOAD[service];
  return (m.find('Deployment', name) ?? m.find('StatefulSet', name)) as Workload | undefined;
}
const pod = (m: Manifest, s: Service): PodSpec | undefined => workload(m, s)?.spec.template.spec;
function container(m: Manifest, s: Service): Container | undefined {
  return pod(m, s)?.containers.find((c) => c.name === WORKLOAD[s]);
}

/** A flag's value in either chart's style: `--name=value`, `--name value`, or a bare `--name` (true). */
export function flagValue(args: readonly string[] | undefined, name: string): string | undefined {
  if (!args) return undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
    if (a === `--${name}`) {
      const next = args[i + 1];
      return next === undefined || next.startsWith('--') ? 'true' : next;
    }
  }
  return undefined;
}
const flag = (s: Service, name: string): Pick => (m) => flagValue(container(m, s)?.args, name);
const env = (s: Service, name: string): Pick => (m) => container(m, s)?.env?.find((e) => e.name === name)?.value;
const serviceObject = (m: Manifest, name: string) => m.find('Service', name) as (K8sObject & { spec: { type?: string; ports: { name?: string; port: number; targetPort: number | string; protocol?: string }[] } }) | undefined;
const image = (s: Service): Pick => (m) => container(m, s)?.image;
/** The debugger's port: upstream's dlv --listen=:<port>, tsdapr's NODE_OPTIONS --inspect=<host>:<port>. */
const debuggerPort = (s: Service): Pick => (m) => {
  const c = container(m, s);
  const dlv = c?.args?.find((a) => a.startsWith('--listen=:'));
  if (dlv) return dlv.slice('--listen=:'.length);
  return /--inspect=[^:\s]*:(\d+)/.exec(c?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '')?.[1];
};

/** Honoured, with the rendered fields to compare. */
const h = (value: unknown, pick: Pick, also?: Record<string, unknown>, note?: string): Honoured => ({ status: 'honoured', value, pick, ...(also ? { also } : {}), ...(note ? { note } : {}) });
const none = (why: string, value: unknown, also?: Record<string, unknown>): WithoutEffect => ({ status: 'without effect', why, value, ...(also ? { also } : {}) });
const jwtOn = { 'dapr_sentry.jwt.enabled': true };
const oidcOn = { 'dapr_sentry.oidc.enabled': true };

/** The values every control-plane service has upstream (image, probes, debug, env, ...). */
function perService(s: Service, opts: { runAsNonRoot?: 'own' | 'securityContext' } = {}): Record<string, Treatment> {
  const b = BLOCK[s];
  const debugOn = { [`${b}.debug.enabled`]: true };
  const probe = (kind: 'livenessProbe' | 'readinessProbe', key: string): Pick => (m) => container(m, s)?.[kind]?.[key];
  const out: Record<string, Treatment> = {
    [`${b}.logLevel`]: h('debug', flag(s, 'log-level')),
    [`${b}.component`]: h(`my-${s}`, (m) => workload(m, s)?.metadata.labels?.['app.kubernetes.io/component']),
    [`${b}.nameOverride`]: none("unused by upstream's templates too", 'renamed'),
    [`${b}.fullnameOverride`]: none("unused by upstream's templates too", 'renamed'),
    [`${b}.resources`]: h({ limits: { memory: '300Mi' } }, (m) => container(m, s)?.resources),
    [`${b}.extraEnvVars`]: h({ EXTRA_SETTING: 'on' }, env(s, 'EXTRA_SETTING')),
    [`${b}.debug.enabled`]: h(true, debuggerPort(s), undefined, "tsdapr: the Node inspector on debug.port (NODE_OPTIONS --inspect) instead of dlv; the probes' delay as upstream"),
    [`${b}.debug.port`]: h(40001, debuggerPort(s), debugOn),
    [`${b}.debug.initialDelaySeconds`]: h(600, probe('livenessProbe', 'initialDelaySeconds'), debugOn),
  };
  for (const kind of ['livenessProbe', 'readinessProbe'] as const) {
    const note = s === 'scheduler' ? undefined : `field by field over global.${kind === 'livenessProbe' ? 'liveness' : 'readiness'} (ours), which applies when it is unset (tsdapr's values.yaml leaves it unset)`;
    out[`${b}.${kind}.initialDelaySeconds`] = h(17, probe(kind, 'initialDelaySeconds'), undefined, note);
    out[`${b}.${kind}.periodSeconds`] = h(7, probe(kind, 'periodSeconds'), undefined, note);
    out[`${b}.${kind}.failureThreshold`] = h(9, probe(kind, 'failureThreshold'), undefined, note);
  }
  if (s !== 'injector') out[`${b}.image.name`] = h(`registry.example.com/mirror/${s}:1.0`, image(s), undefined, "a full reference (with a /) is used as is; a bare name (upstream's default) gives the one tsdapr image, global.registry/global.imageName:global.tag");
  // Upstream leaves runAsNonRoot out when false (the injector) or renders false: both mean not enforced.
  if (opts.runAsNonRoot === 'own') out[`${b}.runAsNonRoot`] = h(false, (m) => container(m, s)?.securityContext?.runAsNonRoot === true);
  const annotations = s !== 'scheduler' && s !== 'placement' ? 'deploymentAnnotations' : 'statefulsetAnnotations';
  out[`${b}.${annotations}`] = h({ 'example.com/owner': 'platform' }, (m) => workload(m, s)?.spec.template.metadata.annotations?.['example.com/owner'], undefined, 'pod annotations, as upstream, merged with podAnnotations (ours)');
  return out;
}

const k8sLabel = (key: string, value: string): Honoured =>
  h(value, (m) => workload(m, 'operator')?.metadata.labels?.[key], undefined, "on every object, a template as upstream; tsdapr's default ({}) keeps its own app.kubernetes.io labels, and set keys win over them");
const trustBundleKey = (m: Manifest, key: string): string | undefined => {
  const secret: (K8sObject & { data?: Record<string, string> }) | undefined = m.find('Secret', 'dapr-trust-bundle');
  const data = secret?.data?.[key];
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
};
const PEM = { issuerCert: '-----BEGIN CERTIFICATE-----\nissuer\n-----END CERTIFICATE-----\n', issuerKey: '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n', root: '-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n' };
const wholeBundle = { 'dapr_sentry.tls.issuer.certPEM': PEM.issuerCert, 'dapr_sentry.tls.issuer.keyPEM': PEM.issuerKey, 'dapr_sentry.tls.root.certPEM': PEM.root };
const ha = { 'global.ha.enabled': true };
const pdbOf = (m: Manifest, app: string) => (m.ofKind('PodDisruptionBudget') as (K8sObject & { spec: { minAvailable?: unknown; maxUnavailable?: unknown; selector: { matchLabels?: Record<string, string> } } })[]).find((p) => p.spec.selector.matchLabels?.['app'] === app)?.spec;
const externalEtcd = { 'dapr_scheduler.etcdEmbed': false, 'dapr_scheduler.etcdClientEndpoints': ['http://etcd.db:2379'] };
const webhook = (m: Manifest) => (m.find('MutatingWebhookConfiguration', 'dapr-sidecar-injector') as (K8sObject & { webhooks: Record<string, unknown>[] }) | undefined)?.webhooks[0];

/** Every upstream 1.17 value path (as pathName spells it) and what it does here. */
export const TREATMENT: Readonly<Record<string, Treatment>> = {
  'global.registry': h('registry.example.com/mirror', (m) => image('operator')(m)?.toString().replace(/\/[^/]*$/, ''), undefined, 'the registry of the one tsdapr image (upstream: of each service image)'),
  'global.tag': h('9.9.9', (m) => image('operator')(m)?.toString().replace(/^.*:/, '')),
  'global.dnsSuffix': h('.example.internal', (m) => flagValue(container(m, 'scheduler')?.args, 'etcd-initial-cluster')?.replace(/^[^=]*=https?:\/\/([^:]*):.*$/, '$1')),
  'global.logAsJson': h(true, flag('sentry', 'log-as-json')),
  'global.imagePullPolicy': h('Always', (m) => container(m, 'operator')?.imagePullPolicy),
  'global.imagePullSecrets': h('regcred', (m) => pod(m, 'operator')?.imagePullSecrets),
  'global.priorityClassName': h('system-cluster-critical', (m) => pod(m, 'operator')?.priorityClassName),
  'global.nodeSelector': h({ disk: 'ssd' }, (m) => pod(m, 'operator')?.nodeSelector),
  'global.tolerations': h([{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }], (m) => pod(m, 'operator')?.tolerations),
  'global.rbac.namespaced': h(true, (m) => JSON.stringify((m.find('ClusterRole', 'dapr-sentry') as (K8sObject & { rules: { resources: string[] }[] }) | undefined)?.rules.flatMap((r) => r.resources).includes('pods')), undefined, "sentry's pod and Configuration reads move to its Role (upstream drops them); the operator's and injector's grants on cluster-scoped objects stay ClusterRoles"),
  'global.ha.enabled': h(true, (m) => workload(m, 'operator')?.spec.replicas),
  'global.ha.topologyKey': h('kubernetes.io/hostname', (m) => pod(m, 'operator')?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey, ha),
  'global.ha.replicaCount': h(5, (m) => workload(m, 'operator')?.spec.replicas, ha),
  'global.ha.disruption.minimumAvailable': h('1', (m) => pdbOf(m, 'dapr-operator')?.minAvailable, ha, "without maxUnavailable (upstream renders both, which Kubernetes refuses)"),
  'global.ha.disruption.maximumUnavailable': h('50%', (m) => pdbOf(m, 'dapr-operator')?.maxUnavailable, ha),
  'global.prometheus.enabled': h(false, flag('operator', 'enable-metrics')),
  'global.prometheus.port': h(9091, flag('operator', 'metrics-port')),
  'global.mtls.enabled': h(false, (m) => (m.ofKind('Configuration')[0] as (K8sObject & { spec: { mtls: Record<string, unknown> } }) | undefined)?.spec.mtls['enabled']),
  'global.mtls.workloadCertTTL': h('12h', (m) => (m.ofKind('Configuration')[0] as (K8sObject & { spec: { mtls: Record<string, unknown> } }) | undefined)?.spec.mtls['workloadCertTTL']),
  'global.mtls.allowedClockSkew': h('5m', (m) => (m.ofKind('Configuration')[0] as (K8sObject & { spec: { mtls: Record<string, unknown> } }) | undefined)?.spec.mtls['allowedClockSkew']),
  'global.mtls.controlPlaneTrustDomain': h('example.org', flag('sentry', 'trust-domain')),
  'global.mtls.mountSentryVolume': h(false, (m) => pod(m, 'operator')?.volumes?.some((v) => v.name === 'dapr-identity-token')),
  'global.extraVolumes': h({ operator: [{ name: 'extra-creds', secret: { secretName: 'creds' } }] }, (m) => pod(m, 'operator')?.volumes?.find((v) => v.name === 'extra-creds')),
  'global.extraVolumeMounts': h({ operator: [{ name: 'extra-creds', mountPath: '/var/run/extra' }] }, (m) => container(m, 'operator')?.volumeMounts?.find((v) => v.name === 'extra-creds')),
  'global.actors.enabled': h(false, env('injector', 'ACTORS_ENABLED')),
  'global.actors.serviceName': h('scheduler', env('injector', 'ACTORS_SERVICE_NAME')),
  'global.reminders.serviceName': h('scheduler', env('injector', 'REMINDERS_SERVICE_NAME')),
  'global.scheduler.enabled': h(false, (m) => workload(m, 'scheduler') !== undefined),
  'global.daprControlPlaneOs': h('linux-custom', (m) => pod(m, 'operator')?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]?.matchExpressions.find((e) => e.key === 'kubernetes.io/os')?.values),
  'global.labels': h({ team: 'platform' }, (m) => workload(m, 'operator')?.spec.template.metadata.labels?.['team']),
  'global.seccompProfile': h('RuntimeDefault', (m) => container(m, 'operator')?.securityContext?.seccompProfile?.type),
  'global.k8sLabels.app.kubernetes.io/name': k8sLabel('app.kubernetes.io/name', 'dapr-{{ .Release.Name }}'),
  'global.k8sLabels.app.kubernetes.io/version': k8sLabel('app.kubernetes.io/version', 'v{{ .Values.global.tag }}'),
  'global.k8sLabels.app.kubernetes.io/part-of': k8sLabel('app.kubernetes.io/part-of', 'dapr-platform'),
  'global.k8sLabels.app.kubernetes.io/managed-by': k8sLabel('app.kubernetes.io/managed-by', 'platform-team'),
  'global.k8sLabels.app.kubernetes.io/component': k8sLabel('app.kubernetes.io/component', 'cp-{{ .Values.component }}'),
  'global.issuerFilenames': h({ ca: 'root.pem', cert: 'chain.pem', key: 'chain.key' }, (m) => ['issuer-ca-filename', 'issuer-certificate-filename', 'issuer-key-filename'].map((f) => flagValue(container(m, 'sentry')?.args, f))),
  'global.argoRolloutServiceReconciler.enabled': none("tsdapr's operator has no Argo Rollouts service reconciler", true),
  'global.operator.watchdogCanPatchPodLabels': none("tsdapr's operator has no watchdog", true),

  'dapr_config.dapr_config_chart_included': h(false, (m) => m.ofKind('Configuration').length),
  'dapr_config.dapr_default_system_config_name': h('platformsystem', (m) => m.ofKind('Configuration').map((c) => c.metadata.name)),
  'dapr_config.component': h('cfg', (m) => m.ofKind('Configuration')[0]?.metadata.labels?.['app.kubernetes.io/component']),

  ...perService('operator', { runAsNonRoot: 'own' }),
  'dapr_operator.replicaCount': h(2, (m) => workload(m, 'operator')?.spec.replicas),
  'dapr_operator.watchInterval': none("the watchdog's interval: tsdapr's operator has no watchdog", '1m'),
  'dapr_operator.watchNamespace': h('apps', flag('operator', 'watch-namespace')),
  'dapr_operator.maxPodRestartsPerMinute': none("the watchdog's budget: tsdapr's operator has no watchdog", 5),
  'dapr_operator.apiService.type': h('NodePort', (m) => serviceObject(m, 'dapr-api')?.spec.type),
  'dapr_operator.apiService.annotations': h({ 'example.com/lb': 'internal' }, (m) => serviceObject(m, 'dapr-api')?.metadata.annotations?.['example.com/lb']),
  'dapr_operator.webhookService.type': h('NodePort', (m) => serviceObject(m, 'dapr-webhook')?.spec.type),
  'dapr_operator.webhookService.annotations': h({ 'example.com/lb': 'internal' }, (m) => serviceObject(m, 'dapr-webhook')?.metadata.annotations?.['example.com/lb']),
  'dapr_operator.serviceReconciler.enabled': h(false, flag('operator', 'disable-service-reconciler')),
  'dapr_operator.ports.protocol': none("unused by upstream's templates too (its Services' ports are TCP)", 'SCTP'),
  'dapr_operator.ports.port': h(8443, (m) => serviceObject(m, 'dapr-api')?.spec.ports.map((p) => p.port).filter((p) => p !== 9090)),
  'dapr_operator.ports.targetPort': h(6501, (m) => serviceObject(m, 'dapr-api')?.spec.ports.find((p) => p.name === 'grpc')?.targetPort, undefined, "also the operator's --api-port and container port (upstream's stays 6500, so its Service would miss the pod)"),

  ...perService('placement', { runAsNonRoot: 'own' }),
  'dapr_placement.service.annotations': h({ 'example.com/lb': 'internal' }, (m) => serviceObject(m, 'dapr-placement-server')?.metadata.annotations?.['example.com/lb']),
  'dapr_placement.ports.protocol': none("unused by upstream's templates too (its Services' ports are TCP)", 'SCTP'),
  'dapr_placement.ports.apiPort': h(50015, (m) => serviceObject(m, 'dapr-placement-server')?.spec.ports.find((p) => p.name === 'api')?.port, undefined, 'placement\'s --port and container port too, unless dapr_placement.port (ours) is set'),
  'dapr_placement.ports.raftRPCPort': none('Raft: tsdapr elects the placement leader on a Lease', 8202),
  'dapr_placement.scaleZero': h(true, (m) => workload(m, 'placement')?.spec.replicas),
  'dapr_placement.ha': h(true, (m) => workload(m, 'placement')?.spec.replicas),
  'dapr_placement.maxActorApiLevel': none('deprecated upstream; tsdapr has no actor API levels', 20),
  'dapr_placement.minActorApiLevel': none('deprecated upstream; tsdapr has no actor API levels', 5),
  'dapr_placement.keepAliveTime': h('4s', flag('placement', 'keepalive-time')),
  'dapr_placement.keepAliveTimeout': h('5s', flag('placement', 'keepalive-timeout')),
  'dapr_placement.disseminateTimeout': h('9s', flag('placement', 'disseminate-timeout')),
  'dapr_placement.cluster.forceInMemoryLog': none('the Raft log: tsdapr elects the placement leader on a Lease and keeps no log', true),
  'dapr_placement.cluster.logStorePath': none('the Raft log: tsdapr keeps no log', '/var/run/dapr/other-log'),
  'dapr_placement.cluster.logStoreWinPath': none('the Raft log on Windows: tsdapr keeps no log and runs on Linux only', 'D:\\raft-log'),
  'dapr_placement.volumeclaims.storageSize': none("the Raft log's PVC: tsdapr keeps no log and claims no volume", '2Gi'),
  'dapr_placement.volumeclaims.storageClassName': none("the Raft log's PVC: tsdapr keeps no log and claims no volume", 'fast-ssd'),
  'dapr_placement.replicationFactor': h(50, flag('placement', 'replicationFactor')),
  'dapr_placement.metadataEnabled': h(true, flag('placement', 'metadata-enabled')),
  'dapr_placement.fsGroup': h(1001, (m) => pod(m, 'placement')?.securityContext?.fsGroup),

  'dapr_rbac.secretReader.enabled': none('a grant to application service accounts: tsdapr grants none (least privilege); create the Role yourself', false),
  'dapr_rbac.secretReader.namespace': none('see dapr_rbac.secretReader.enabled', 'apps'),
  'dapr_rbac.component': h('access', (m) => m.find('ServiceAccount', 'dapr-operator')?.metadata.labels?.['app.kubernetes.io/component']),
  ...Object.fromEntries(
    (['injector', 'operator', 'placement', 'scheduler', 'sentry'] as const).map((sa) => [
      `dapr_rbac.serviceAccount.${sa}.annotations`,
      h({ 'azure.workload.identity/client-id': sa }, (m) => m.find('ServiceAccount', `dapr-${sa}`)?.metadata.annotations),
    ]),
  ),

  ...perService('scheduler'),
  'dapr_scheduler.service.annotations': h({ 'example.com/lb': 'internal' }, (m) => serviceObject(m, 'dapr-scheduler-server')?.metadata.annotations?.['example.com/lb']),
  'dapr_scheduler.ports.protocol': none("unused by upstream's templates too (its Services' ports are TCP)", 'SCTP'),
  'dapr_scheduler.ports.etcdGRPCClientPort': h(12379, (m) => serviceObject(m, 'dapr-scheduler-server')?.spec.ports.find((p) => p.name === 'etcd-client')?.port, undefined, "also the scheduler's --etcd-client-port (upstream's stays 2379)"),
  'dapr_scheduler.ports.etcdGRPCPeerPort': h(12380, (m) => serviceObject(m, 'dapr-scheduler-server')?.spec.ports.find((p) => p.name === 'etcd-peer')?.port),
  'dapr_scheduler.cluster.etcdDataDirPath': h('/var/run/data/jobs', flag('scheduler', 'etcd-data-dir')),
  'dapr_scheduler.cluster.etcdDataDirWinPath': none('Windows: tsdapr runs on Linux only', 'D:\\dapr-scheduler'),
  'dapr_scheduler.cluster.storageClassName': h('fast-ssd', (m) => workload(m, 'scheduler')?.spec.volumeClaimTemplates?.[0]?.spec.storageClassName),
  'dapr_scheduler.cluster.storageSize': h('32Gi', (m) => workload(m, 'scheduler')?.spec.volumeClaimTemplates?.[0]?.spec.resources.requests.storage),
  'dapr_scheduler.cluster.inMemoryStorage': h(true, (m) => workload(m, 'scheduler')?.spec.volumeClaimTemplates?.length ?? 0),
  'dapr_scheduler.etcdSpaceQuota': h('16Gi', flag('scheduler', 'etcd-space-quota')),
  'dapr_scheduler.etcdCompactionMode': h('revision', flag('scheduler', 'etcd-compaction-mode')),
  'dapr_scheduler.etcdCompactionRetention': h('20m', flag('scheduler', 'etcd-compaction-retention')),
  'dapr_scheduler.etcdSnapshotCount': h(20000, flag('scheduler', 'etcd-snapshot-count')),
  'dapr_scheduler.etcdMaxSnapshots': h(3, flag('scheduler', 'etcd-max-snapshots')),
  'dapr_scheduler.etcdMaxWals': h(4, flag('scheduler', 'etcd-max-wals')),
  'dapr_scheduler.etcdBackendBatchLimit': h(2000, flag('scheduler', 'etcd-backend-batch-limit')),
  'dapr_scheduler.etcdBackendBatchInterval': h('20ms', flag('scheduler', 'etcd-backend-batch-interval')),
  'dapr_scheduler.etcdDefragThresholdMB': h(200, flag('scheduler', 'etcd-experimental-bootstrap-defrag-threshold-megabytes')),
  'dapr_scheduler.etcdInitialElectionTickAdvance': none("the scheduler accepts and ignores the flag (its etcd member's start-up is its own)", true),
  'dapr_scheduler.etcdMetrics': none('the scheduler accepts and ignores the flag (its etcd member serves no metrics of its own)', 'extensive'),
  'dapr_scheduler.etcdEmbed': h(false, flag('scheduler', 'etcd-embed'), { 'dapr_scheduler.etcdClientEndpoints': ['http://etcd.db:2379'] }),
  'dapr_scheduler.etcdClientEndpoints': h(['http://etcd.db:2379', 'http://etcd-1.db:2379'], flag('scheduler', 'etcd-client-endpoints'), { 'dapr_scheduler.etcdEmbed': false }),
  'dapr_scheduler.etcdClientUsername': h('jobs', flag('scheduler', 'etcd-client-username'), externalEtcd),
  'dapr_scheduler.etcdClientPassword': {
    status: 'replaced',
    by: 'the Secret dapr-scheduler-etcd-client, given to the scheduler as env DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD (never an argument)',
    value: 's3cret',
    also: externalEtcd,
    pick: (m) => container(m, 'scheduler')?.env?.some((e) => e.name === 'DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD'),
  },
  'dapr_scheduler.workers': none('the scheduler accepts and ignores the flag (Node delivers jobs on one event loop)', 64),
  'dapr_scheduler.securityContext.runAsNonRoot': h(false, (m) => container(m, 'scheduler')?.securityContext?.runAsNonRoot === true),
  'dapr_scheduler.securityContext.fsGroup': h(1001, (m) => pod(m, 'scheduler')?.securityContext?.fsGroup, undefined, 'unless dapr_scheduler.fsGroup (ours) is set'),

  ...perService('sentry', { runAsNonRoot: 'own' }),
  'dapr_sentry.replicaCount': h(2, (m) => workload(m, 'sentry')?.spec.replicas),
  'dapr_sentry.service.type': h('NodePort', (m) => serviceObject(m, 'dapr-sentry')?.spec.type),
  'dapr_sentry.service.annotations': h({ 'example.com/lb': 'internal' }, (m) => serviceObject(m, 'dapr-sentry')?.metadata.annotations?.['example.com/lb']),
  'dapr_sentry.ports.protocol': none("unused by upstream's templates too (its Services' ports are TCP)", 'SCTP'),
  'dapr_sentry.ports.port': h(8443, (m) => serviceObject(m, 'dapr-sentry')?.spec.ports[0]?.port),
  'dapr_sentry.ports.targetPort': h(50011, (m) => serviceObject(m, 'dapr-sentry')?.spec.ports[0]?.targetPort, undefined, "also sentry's --port and container port (upstream's stays 50001)"),
  'dapr_sentry.tls.issuer.certPEM': h(PEM.issuerCert, (m) => trustBundleKey(m, 'issuer.crt'), wholeBundle),
  'dapr_sentry.tls.issuer.keyPEM': h(PEM.issuerKey, (m) => trustBundleKey(m, 'issuer.key'), wholeBundle),
  'dapr_sentry.tls.root.certPEM': h(PEM.root, (m) => trustBundleKey(m, 'ca.crt'), wholeBundle),
  'dapr_sentry.tls.trustDomain': none("unused by upstream's templates too (sentry's trust domain is global.mtls.controlPlaneTrustDomain)", 'example.org'),
  'dapr_sentry.jwt.enabled': h(true, flag('sentry', 'jwt-enabled')),
  'dapr_sentry.jwt.keyFilename': h('jwt.key', flag('sentry', 'jwt-key-filename'), jwtOn),
  'dapr_sentry.jwt.jwksFilename': h('jwks.json', flag('sentry', 'jwks-filename'), jwtOn),
  'dapr_sentry.jwt.issuer': h('https://issuer.example.com', flag('sentry', 'jwt-issuer'), jwtOn),
  'dapr_sentry.jwt.signingAlgorithm': h('ES256', flag('sentry', 'jwt-signing-algorithm'), jwtOn),
  'dapr_sentry.jwt.keyID': h('key-1', flag('sentry', 'jwt-key-id'), jwtOn),
  'dapr_sentry.oidc.enabled': h(true, flag('sentry', 'oidc-enabled')),
  'dapr_sentry.oidc.server.port': h(9443, (m) => serviceObject(m, 'dapr-sentry')?.spec.ports.find((p) => p.name === 'oidc')?.port, oidcOn, 'ours listens on it (upstream\'s sentry stays on 9080 behind the Service)'),
  'dapr_sentry.oidc.jwksURI': h('https://issuer.example.com/jwks.json', flag('sentry', 'oidc-jwks-uri'), oidcOn),
  'dapr_sentry.oidc.pathPrefix': h('/sentry', flag('sentry', 'oidc-path-prefix'), oidcOn),
  'dapr_sentry.oidc.allowedHosts': h(['issuer.example.com', 'oidc.example.com'], flag('sentry', 'oidc-allowed-hosts'), oidcOn),
  'dapr_sentry.oidc.tls.enabled': { status: 'replaced', by: 'the same flag, passed for false too: false turns the OIDC server\'s TLS off (upstream passes --oidc-server-tls-enabled only when true, so false leaves its default, TLS on)', value: false, also: oidcOn, pick: flag('sentry', 'oidc-server-tls-enabled') },
  'dapr_sentry.oidc.tls.certFile': h('/tls/tls.crt', flag('sentry', 'oidc-server-tls-cert-file'), oidcOn),
  'dapr_sentry.oidc.tls.keyFile': h('/tls/tls.key', flag('sentry', 'oidc-server-tls-key-file'), oidcOn),
  'dapr_sentry.mode': h('standalone', flag('sentry', 'mode')),

  ...perService('injector', { runAsNonRoot: 'own' }),
  'dapr_sidecar_injector.enabled': h(false, (m) => workload(m, 'injector') !== undefined),
  'dapr_sidecar_injector.replicaCount': h(2, (m) => workload(m, 'injector')?.spec.replicas),
  'dapr_sidecar_injector.image.name': h('registry.example.com/mirror/daprd:1.17.5', env('injector', 'SIDECAR_IMAGE'), undefined, 'a bare name is under dapr_sidecar_injector.image.registry and .tag (ours: the sidecar is upstream\'s daprd, not the control-plane image)'),
  'dapr_sidecar_injector.injectorImage.name': h('registry.example.com/mirror/injector:1.0', image('injector'), undefined, "a full reference (with a /) is used as is; a bare name (upstream's default) gives the one tsdapr image"),
  'dapr_sidecar_injector.service.type': h('NodePort', (m) => serviceObject(m, 'dapr-sidecar-injector')?.spec.type),
  'dapr_sidecar_injector.service.annotations': h({ 'example.com/lb': 'internal' }, (m) => serviceObject(m, 'dapr-sidecar-injector')?.metadata.annotations?.['example.com/lb']),
  'dapr_sidecar_injector.webhookFailurePolicy': h('Fail', (m) => webhook(m)?.['failurePolicy']),
  'dapr_sidecar_injector.sidecarImagePullPolicy': h('Always', env('injector', 'SIDECAR_IMAGE_PULL_POLICY')),
  'dapr_sidecar_injector.sidecarRunAsNonRoot': h(false, env('injector', 'SIDECAR_RUN_AS_NON_ROOT')),
  'dapr_sidecar_injector.sidecarReadOnlyRootFilesystem': h(false, env('injector', 'SIDECAR_READ_ONLY_ROOT_FILESYSTEM')),
  'dapr_sidecar_injector.sidecarDropALLCapabilities': h(true, env('injector', 'SIDECAR_DROP_ALL_CAPABILITIES')),
  'dapr_sidecar_injector.enableK8sDownwardAPIs': h(true, env('injector', 'ENABLE_K8S_DOWNWARD_APIS')),
  'dapr_sidecar_injector.allowedServiceAccounts': h('ci:builder', env('injector', 'ALLOWED_SERVICE_ACCOUNTS')),
  'dapr_sidecar_injector.allowedServiceAccountsPrefixNames': h('ci:build*', env('injector', 'ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES')),
  'dapr_sidecar_injector.kubeClusterDomain': h('example.internal', env('injector', 'KUBE_CLUSTER_DOMAIN')),
  'dapr_sidecar_injector.ignoreEntrypointTolerations': h('[{"effect":"NoSchedule","key":"example.com/virtual"}]', env('injector', 'IGNORE_ENTRYPOINT_TOLERATIONS')),
  'dapr_sidecar_injector.hostNetwork': h(true, (m) => pod(m, 'injector')?.hostNetwork),
  'dapr_sidecar_injector.healthzPort': h(8081, (m) => container(m, 'injector')?.livenessProbe?.httpGet?.port),
  'dapr_sidecar_injector.objectSelector': h({ matchLabels: { 'dapr.io/inject': 'true' } }, (m) => webhook(m)?.['objectSelector']),
  'dapr_sidecar_injector.namespaceSelector': h({ matchLabels: { 'dapr.io/enabled': 'true' } }, (m) => webhook(m)?.['namespaceSelector']),
};

/** The status word the README table uses for a treatment. */
export function readmeStatus(t: Treatment): string {
  return t.status === 'honoured' ? 'honoured' : t.status === 'replaced' ? 'replaced' : 'accepted without effect';
}
