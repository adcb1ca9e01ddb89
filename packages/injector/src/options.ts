import { InvalidInputError, parseFlags, type FlagSpec, type FlagValues } from '@tsdapr/runtime';
import type { LevelWithSilent } from 'pino';
import { isTruthy } from './annotations/value-parsers.js';
import { parseControlPlaneService, type ControlPlaneService, type InjectorSettings } from './patch/injector-settings.js';
import type { Toleration } from './patch/pod-types.js';
import { parseVersion } from './versions/daprd-versions.js';

/**
 * Flags keep upstream injector's names (`--port`, `--healthz-port`,
 * `--scheduler-enabled`, the metrics and log flags). Upstream's environment
 * variables (SIDECAR_IMAGE, NAMESPACE, ...) fill the flags of the same
 * meaning, so the chart's env works unchanged; each is also a flag here.
 */
export const INJECTOR_FLAGS = {
  port: { type: 'int', default: 4000, help: 'HTTPS port of the admission webhook' },
  'listen-address': { type: 'string', default: '', help: 'address to bind the webhook to (empty: all interfaces)' },
  'healthz-port': { type: 'int', default: 8080, help: 'port of /healthz and /readyz' },
  'healthz-listen-address': { type: 'string', default: '', help: 'address to bind the health server to' },
  'enable-metrics': { type: 'bool', default: true, help: 'serve Prometheus metrics' },
  'metrics-port': { type: 'int', default: 9090, help: 'port of /metrics' },
  'metrics-listen-address': { type: 'string', default: '', help: 'address to bind the metrics server to' },
  'scheduler-enabled': { type: 'bool', default: true, help: 'give sidecars the scheduler address' },
  kubeconfig: { type: 'string', default: '', env: 'KUBECONFIG', help: 'kubeconfig path (empty: in-cluster)' },
  'log-level': { type: 'string', default: 'info', help: 'debug, info, warn, error or fatal' },
  'log-as-json': { type: 'bool', default: true, help: 'JSON log lines (always JSON; kept for upstream compatibility)' },

  'tls-cert-file': { type: 'string', default: '', help: 'serving certificate chain (PEM); empty: a self-signed certificate is generated' },
  'tls-key-file': { type: 'string', default: '', help: 'serving private key (PEM)' },
  'tls-ca-file': { type: 'string', default: '', help: 'CA bundle for the webhook configuration (default: the last certificate of the chain)' },
  'sentry-address': { type: 'string', default: '', env: 'DAPR_SENTRY_ADDRESS', help: 'serve with the dapr-injector SVID from this Sentry, as upstream (unless --tls-cert-file is given)' },
  'sentry-token-file': { type: 'string', default: '', env: 'DAPR_SENTRY_TOKEN_FILE', help: 'token to prove the injector to Sentry (empty: the projected token, else the service-account token)' },
  'svid-key-algorithm': { type: 'string', default: 'ecdsa-p256', help: 'key of the dapr-injector SVID: ecdsa-p256 (as 1.17) or rsa-2048 (as 1.18, for API servers that refuse other webhook keys)' },
  'trust-anchors-file': { type: 'string', default: '/var/run/dapr.io/tls/ca.crt', env: 'DAPR_TRUST_ANCHORS_FILE', help: 'trust anchors given to sidecars as DAPR_TRUST_ANCHORS' },
  'webhook-configuration-name': { type: 'string', default: 'dapr-sidecar-injector', help: 'MutatingWebhookConfiguration whose caBundle the injector keeps current' },
  'patch-webhook-ca-bundle': { type: 'bool', default: true, help: 'keep the caBundle of the MutatingWebhookConfiguration current' },
  'report-missed-injections': { type: 'bool', default: true, help: 'watch pods and report those created without their daprd sidecar (Event + metric)' },

  namespace: { type: 'string', default: '', env: 'NAMESPACE', help: 'the control-plane namespace (required)' },
  'sidecar-image': { type: 'string', default: '', env: 'SIDECAR_IMAGE', help: 'daprd image (required)' },
  'sidecar-version': { type: 'string', default: '', env: 'SIDECAR_VERSION', help: 'daprd version of SIDECAR_IMAGE when its reference has no version tag (a digest); a tag wins' },
  'sidecar-image-pull-policy': { type: 'string', default: 'Always', env: 'SIDECAR_IMAGE_PULL_POLICY', help: 'Always, IfNotPresent or Never (anything else: IfNotPresent)' },
  'control-plane-trust-domain': { type: 'string', default: 'cluster.local', env: 'DAPR_CONTROL_PLANE_TRUST_DOMAIN', help: 'control-plane trust domain' },
  'kube-cluster-domain': { type: 'string', default: '', env: 'KUBE_CLUSTER_DOMAIN', help: 'cluster DNS domain (empty: from /etc/resolv.conf, else cluster.local)' },
  'allowed-service-accounts': { type: 'list', default: [], env: 'ALLOWED_SERVICE_ACCOUNTS', help: 'more namespace:name globs allowed to create injected pods' },
  'allowed-service-accounts-prefix-names': { type: 'list', default: [], env: 'ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES', help: 'deprecated: use --allowed-service-accounts' },
  'ignore-entrypoint-tolerations': { type: 'string', default: '', env: 'IGNORE_ENTRYPOINT_TOLERATIONS', help: 'JSON list of tolerations whose pods get command and args apart' },
  'actors-enabled': { type: 'string', default: '', env: 'ACTORS_ENABLED', help: 'give sidecars the placement address (default true)' },
  'actors-service-name': { type: 'string', default: '', env: 'ACTORS_SERVICE_NAME', help: 'actors service (default placement)' },
  'actors-service-address': { type: 'string', default: '', env: 'ACTORS_SERVICE_ADDRESS', help: 'actors service as <service>:<port>' },
  'reminders-service-name': { type: 'string', default: '', env: 'REMINDERS_SERVICE_NAME', help: 'reminders service (default: built in)' },
  'reminders-service-address': { type: 'string', default: '', env: 'REMINDERS_SERVICE_ADDRESS', help: 'reminders service as <service>:<port>' },
  'sidecar-run-as-non-root': { type: 'string', default: '', env: 'SIDECAR_RUN_AS_NON_ROOT', help: 'sidecar runAsNonRoot (default true)' },
  'sidecar-run-as-user': { type: 'string', default: '', env: 'SIDECAR_RUN_AS_USER', help: 'sidecar runAsUser' },
  'sidecar-run-as-group': { type: 'string', default: '', env: 'SIDECAR_RUN_AS_GROUP', help: 'sidecar runAsGroup' },
  'sidecar-read-only-root-filesystem': { type: 'string', default: '', env: 'SIDECAR_READ_ONLY_ROOT_FILESYSTEM', help: 'sidecar readOnlyRootFilesystem (default true)' },
  'enable-k8s-downward-apis': { type: 'string', default: '', env: 'ENABLE_K8S_DOWNWARD_APIS', help: 'add DAPR_HOST_IP from status.podIP' },
  'sidecar-drop-all-capabilities': { type: 'string', default: '', env: 'SIDECAR_DROP_ALL_CAPABILITIES', help: 'drop ALL capabilities of the sidecar' },
  'native-sidecar-enabled': { type: 'string', default: '', env: 'NATIVE_SIDECAR_ENABLED', help: 'inject daprd as a native sidecar by default' },
  'components-sockets-folder': { type: 'string', default: '/tmp/dapr-components-sockets', env: 'DAPR_COMPONENT_SOCKETS_FOLDER', help: 'default pluggable-components socket folder' },
  'sidecar-token-volume': { type: 'string', default: 'auto', help: 'add the dapr-identity-token volume: auto (when the injector has a service-account token, as upstream), true or false' },
} as const satisfies Record<string, FlagSpec>;

/** Where the chart mounts the injector's own projected token for Sentry. */
export const SENTRY_TOKEN_PATH = '/var/run/secrets/dapr.io/sentrytoken/token';

/** Injector settings that come from options; the rest is live state. */
export type StaticSidecarSettings = Omit<InjectorSettings, 'trustAnchorsPem' | 'mtlsEnabled' | 'nativeSidecarsSupported'>;

export interface InjectorOptions {
  readonly listenAddress: string;
  readonly port: number;
  readonly healthz: { readonly host: string; readonly port: number };
  readonly metrics: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly kubeconfigPath: string | undefined;
  readonly logLevel: LevelWithSilent;
  /**
   * Where the serving certificate comes from: files, the Sentry-issued
   * `dapr-injector` SVID (upstream's way; the caBundle is then the trust
   * anchors), or a self-signed certificate.
   */
  readonly servingTls:
    | { readonly source: 'files'; readonly certFile: string; readonly keyFile: string; readonly caFile: string | undefined }
    | { readonly source: 'sentry'; readonly sentryAddress: string; readonly tokenFile: string | undefined; readonly keyAlgorithm: SvidKeyAlgorithm }
    | { readonly source: 'self-signed' };
  readonly trustAnchorsFile: string;
  readonly webhookConfigurationName: string;
  readonly patchWebhookCaBundle: boolean;
  readonly reportMissedInjections: boolean;
  readonly namespace: string;
  /** ALLOWED_SERVICE_ACCOUNTS: `namespace:name` entries (globs from 1.18). */
  readonly allowedServiceAccounts: readonly string[];
  /** ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES: the only entries 1.17 matches by name (`*` at the end: a prefix). */
  readonly allowedServiceAccountsPrefixNames: readonly string[];
  readonly sidecar: StaticSidecarSettings;
}

/** What options need from the machine, injectable for tests. */
export interface OptionsEnvironment {
  readonly readResolvConf?: () => string | undefined;
  readonly hasServiceAccountToken?: () => boolean;
  /** The token the injector proves itself to Sentry with: the projected one, else the legacy service-account token. */
  readonly sentryTokenFile?: () => string | undefined;
}

/** The SVID keys upstream's injector uses: P-256 up to 1.17, RSA-2048 from 1.18 (dapr/dapr#9873). */
const SVID_KEY_ALGORITHMS = ['ecdsa-p256', 'rsa-2048'] as const;
export type SvidKeyAlgorithm = (typeof SVID_KEY_ALGORITHMS)[number];

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'trace', 'silent'] as const;

/** Flags and environment to typed, validated options; the only reader of process.env. */
export function parseInjectorOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, machine: OptionsEnvironment = {}): InjectorOptions {
  const flags: FlagValues<typeof INJECTOR_FLAGS> = parseFlags(INJECTOR_FLAGS, argv, env);
  const fail = (message: string): never => {
    throw new InvalidInputError('invalid_flag', message);
  };
  if (flags['sidecar-image'] === '') fail('SIDECAR_IMAGE (or --sidecar-image) is required: the daprd image to inject');
  if (flags.namespace === '') fail('NAMESPACE (or --namespace) is required: the control-plane namespace');
  const logLevel = flags['log-level'] as (typeof LOG_LEVELS)[number];
  if (!LOG_LEVELS.includes(logLevel)) fail(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${flags['log-level']}"`);
  for (const name of ['port', 'healthz-port', 'metrics-port'] as const) {
    if (flags[name] < 0 || flags[name] > 65535) fail(`--${name} must be a port number, got ${flags[name]}`);
  }
  if ((flags['tls-cert-file'] === '') !== (flags['tls-key-file'] === '')) fail('--tls-cert-file and --tls-key-file go together');

  // No actors service name means placement at its default address.
  const actorsService = namedService('ACTORS_SERVICE', flags['actors-service-name'], flags['actors-service-address'], fail);
  // "default" means the built-in reminders. (Upstream then passes a
  // meaningless "--reminders-service default:.<ns>.svc.<domain>:0"; we pass nothing.)
  const remindersName = flags['reminders-service-name'] === 'default' ? '' : flags['reminders-service-name'];
  const remindersService = namedService('REMINDERS_SERVICE', remindersName, flags['reminders-service-address'], fail);

  const svidKeyAlgorithm = flags['svid-key-algorithm'] as SvidKeyAlgorithm;
  if (!SVID_KEY_ALGORITHMS.includes(svidKeyAlgorithm)) fail(`--svid-key-algorithm must be one of ${SVID_KEY_ALGORITHMS.join(', ')}, got "${flags['svid-key-algorithm']}"`);

  const tokenVolume = flags['sidecar-token-volume'];
  if (!['auto', 'true', 'false'].includes(tokenVolume)) fail(`--sidecar-token-volume must be auto, true or false, got "${tokenVolume}"`);

  const versionHint = flags['sidecar-version'].trim();
  if (versionHint !== '' && !parseVersion(versionHint)) fail(`--sidecar-version (SIDECAR_VERSION) must be a daprd version such as 1.17.5, got "${versionHint}"`);

  const sidecar: StaticSidecarSettings = {
    sidecarImage: flags['sidecar-image'],
    ...(versionHint !== '' ? { sidecarVersionHint: versionHint } : {}),
    imagePullPolicy: pullPolicy(flags['sidecar-image-pull-policy']),
    controlPlaneNamespace: flags.namespace,
    controlPlaneTrustDomain: flags['control-plane-trust-domain'],
    kubeClusterDomain: flags['kube-cluster-domain'] || clusterDomainFromResolvConf(machine.readResolvConf?.() ?? ''),
    schedulerEnabled: flags['scheduler-enabled'],
    actorsEnabled: truthyDefaultTrue(flags['actors-enabled']),
    ...(actorsService ? { actorsService } : {}),
    ...(remindersService ? { remindersService } : {}),
    ignoreEntrypointTolerations: tolerations(flags['ignore-entrypoint-tolerations'], fail),
    runAsNonRoot: truthyDefaultTrue(flags['sidecar-run-as-non-root']),
    ...optionalInt('runAsUser', flags['sidecar-run-as-user'], 'SIDECAR_RUN_AS_USER', fail),
    ...optionalInt('runAsGroup', flags['sidecar-run-as-group'], 'SIDECAR_RUN_AS_GROUP', fail),
    readOnlyRootFilesystem: truthyDefaultTrue(flags['sidecar-read-only-root-filesystem']),
    enableK8sDownwardApis: isTruthy(flags['enable-k8s-downward-apis']),
    dropAllCapabilities: isTruthy(flags['sidecar-drop-all-capabilities']),
    nativeSidecarDefault: isTruthy(flags['native-sidecar-enabled']),
    tokenVolume: tokenVolume === 'auto' ? (machine.hasServiceAccountToken?.() ?? false) : tokenVolume === 'true',
    componentsSocketsFolder: flags['components-sockets-folder'],
    mode: 'kubernetes',
  };

  return {
    listenAddress: flags['listen-address'],
    port: flags.port,
    healthz: { host: flags['healthz-listen-address'], port: flags['healthz-port'] },
    metrics: { enabled: flags['enable-metrics'], host: flags['metrics-listen-address'], port: flags['metrics-port'] },
    kubeconfigPath: flags.kubeconfig === '' ? undefined : flags.kubeconfig,
    logLevel,
    servingTls:
      flags['tls-cert-file'] !== ''
        ? { source: 'files', certFile: flags['tls-cert-file'], keyFile: flags['tls-key-file'], caFile: flags['tls-ca-file'] || undefined }
        : flags['sentry-address'] !== ''
          ? { source: 'sentry', sentryAddress: flags['sentry-address'], tokenFile: flags['sentry-token-file'] || machine.sentryTokenFile?.(), keyAlgorithm: svidKeyAlgorithm }
          : { source: 'self-signed' },
    trustAnchorsFile: flags['trust-anchors-file'],
    webhookConfigurationName: flags['webhook-configuration-name'],
    patchWebhookCaBundle: flags['patch-webhook-ca-bundle'],
    reportMissedInjections: flags['report-missed-injections'],
    namespace: flags.namespace,
    allowedServiceAccounts: flags['allowed-service-accounts'],
    // As written: upstream (1.17 and 1.18) matches an entry without `*` exactly.
    allowedServiceAccountsPrefixNames: flags['allowed-service-accounts-prefix-names'],
    sidecar,
  };
}

/** Upstream's mapping: Always, Never, IfNotPresent; anything else IfNotPresent. */
function pullPolicy(value: string): InjectorSettings['imagePullPolicy'] {
  return value === 'Always' || value === 'Never' ? value : 'IfNotPresent';
}

function truthyDefaultTrue(value: string): boolean {
  return value === '' ? true : isTruthy(value);
}

function namedService(prefix: string, name: string, address: string, fail: (message: string) => never): (ControlPlaneService & { name: string }) | undefined {
  if (name === '') return undefined;
  const service = parseControlPlaneService(address);
  if (!service) return fail(`${prefix}_ADDRESS must be <service>:<port> when ${prefix}_NAME is set, got "${address}"`);
  return { name, ...service };
}

function tolerations(json: string, fail: (message: string) => never): Toleration[] {
  if (json.trim() === '') return [];
  try {
    const parsed: unknown = JSON.parse(json);
    if (!Array.isArray(parsed)) return fail('IGNORE_ENTRYPOINT_TOLERATIONS must be a JSON list of tolerations');
    return parsed as Toleration[];
  } catch (err) {
    return fail(`IGNORE_ENTRYPOINT_TOLERATIONS is not JSON: ${(err as Error).message}`);
  }
}

function optionalInt<K extends string>(key: K, value: string, name: string, fail: (message: string) => never): Partial<Record<K, number>> {
  if (value === '') return {};
  if (!/^-?\d+$/.test(value)) return fail(`${name} must be an integer, got "${value}"`);
  return { [key]: Number(value) } as Partial<Record<K, number>>;
}

/**
 * Upstream's cluster-domain detection: the alphabetically first search domain
 * of resolv.conf (in a pod: `cluster.local` before `<ns>.svc.cluster.local`),
 * else `cluster.local`.
 */
export function clusterDomainFromResolvConf(text: string): string {
  let domains: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.split('#')[0] ?? '';
    const match = /^\s*search\s*(.*)$/.exec(line);
    if (match) domains = (match[1] ?? '').split(/\s+/).filter((d) => d !== '');
  }
  domains.sort();
  return domains[0] ?? 'cluster.local';
}
