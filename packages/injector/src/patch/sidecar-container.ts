// Follows upstream's checks closely: dapr/dapr:pkg/injector/patcher/sidecar_container.go@v1.17.5 (Apache-2.0, The Dapr Authors; see NOTICE). No code is copied.
import type { SidecarAnnotations } from '../annotations/annotation-table.js';
import { ANNOTATIONS } from '../annotations/annotation-table.js';
import { SIDECAR_HTTP_PORT, SIDECAR_PUBLIC_PORT } from '../annotations/check-annotations.js';
import { warning, type Diagnostic } from '../annotations/diagnostic.js';
import { parseQuantity } from '../annotations/value-parsers.js';
import { parseEnvAnnotation } from './annotation-lists.js';
import { SERVICE_API, SERVICE_SENTRY, schedulerAddress, serviceAddress, type InjectorSettings } from './injector-settings.js';
import { DAPRD_FLAG_SINCE, flagSupported, type DaprdFlag, type DaprdMinor } from '../versions/daprd-versions.js';
import type { Container, ContainerPort, EnvVar, Pod, Probe, SecurityContext, Toleration, VolumeMount } from './pod-types.js';

export const SIDECAR_CONTAINER_NAME = 'daprd';
export const UNIX_DOMAIN_SOCKET_DAPRD_PATH = '/var/run/dapr-sockets';
export const COMPONENTS_SOCKETS_FOLDER_ENV = 'DAPR_COMPONENT_SOCKETS_FOLDER';

export interface SidecarContainerInput {
  readonly values: SidecarAnnotations;
  readonly appId: string;
  readonly namespace: string;
  readonly pod: Pod;
  readonly settings: InjectorSettings;
  /** The placement address after the actors settings are applied (undefined: no flag). */
  readonly placementAddress: string | undefined;
  /** `<name>:<address>` for the legacy `--actors-service` flag. */
  readonly actorsService: string | undefined;
  readonly volumeMounts: readonly VolumeMount[];
  readonly componentsSocketsMount: VolumeMount | undefined;
  readonly nativeSidecar: boolean;
  /** The daprd minor the sidecar runs: only flags it accepts are emitted. */
  readonly version: DaprdMinor;
}

/**
 * The `daprd` container, built as upstream's `getSidecarContainer` of the
 * target daprd's minor version builds it: same flags in the same order, same
 * env, ports, probes and security context. What differs per version lives in
 * `versions/daprd-versions.ts`. Returns diagnostics for values it had to leave out.
 */
export function buildSidecarContainer(input: SidecarContainerInput): { container: Container; diagnostics: Diagnostic[] } {
  const { values, settings } = input;
  const diagnostics: Diagnostic[] = [];

  const ports: ContainerPort[] = [
    { name: 'dapr-http', containerPort: SIDECAR_HTTP_PORT },
    { name: 'dapr-grpc', containerPort: values.grpcPort },
    { name: 'dapr-internal', containerPort: values.internalGrpcPort },
    { name: 'dapr-metrics', containerPort: values.metricsPort },
  ];

  let command = ['/daprd'];
  let args: string[] = [];
  // Every daprd flag goes through here, typed by the version table; a flag
  // the target daprd does not accept is never emitted (annotations that would
  // need one were already dropped with a warning).
  const flag = (name: DaprdFlag, ...values: string[]): void => {
    if (!flagSupported(name, input.version)) {
      const since: DaprdMinor | null = DAPRD_FLAG_SINCE[name];
      const what = since === null ? `no released daprd accepts ${name}` : `daprd ${input.version} has no ${name} (it is in ${since} and later)`;
      diagnostics.push(warning('unsupported_by_version', name, `${what}, so this sidecar is built without it`));
      return;
    }
    args.push(name, ...values);
  };
  /** `--flag=value`, for booleans daprd must see even when false. */
  const flagEq = (name: DaprdFlag, value: string): void => {
    if (flagSupported(name, input.version)) args.push(`${name}=${value}`);
  };

  flag('--dapr-http-port', String(SIDECAR_HTTP_PORT));
  flag('--dapr-grpc-port', String(values.grpcPort));
  flag('--dapr-internal-grpc-port', String(values.internalGrpcPort));
  flag('--dapr-listen-addresses', values.listenAddresses);
  flag('--dapr-public-port', String(SIDECAR_PUBLIC_PORT));
  flag('--app-id', input.appId);
  flag('--app-protocol', values.appProtocol);
  flag('--log-level', values.logLevel);
  flag('--dapr-graceful-shutdown-seconds', String(values.gracefulShutdownSeconds));
  flag('--mode', settings.mode);
  flag('--control-plane-address', serviceAddress(SERVICE_API, settings.controlPlaneNamespace, settings.kubeClusterDomain));
  flag('--sentry-address', serviceAddress(SERVICE_SENTRY, settings.controlPlaneNamespace, settings.kubeClusterDomain));

  if (values.appPort > 0) flag('--app-port', String(values.appPort));
  if (values.enableMetrics) {
    flag('--enable-metrics');
    flag('--metrics-port', String(values.metricsPort));
  }
  if (values.config !== '') flag('--config', values.config);
  if (values.appChannelAddress !== '') flag('--app-channel-address', values.appChannelAddress);
  if (input.placementAddress !== undefined && input.placementAddress.trim() !== '') flag('--placement-host-address', input.placementAddress);
  else if (input.actorsService) flag('--actors-service', input.actorsService);
  if (settings.remindersService) {
    flag('--reminders-service', `${settings.remindersService.name}:${serviceAddress(settings.remindersService, settings.controlPlaneNamespace, settings.kubeClusterDomain)}`);
  }
  if (values.sentryRequestJwtAudiences !== '') flag('--sentry-request-jwt-audiences', values.sentryRequestJwtAudiences);
  // Passed even when false: without the flag, daprd takes the Configuration's setting.
  if (values.enableApiLogging !== undefined) flagEq('--enable-api-logging', String(values.enableApiLogging));
  if (values.disableBuiltinK8sSecretStore) flag('--disable-builtin-k8s-secret-store');
  if (values.enableAppHealthCheck) {
    flag('--enable-app-health-check');
    flag('--app-health-check-path', values.appHealthCheckPath);
    flag('--app-health-probe-interval', String(values.appHealthProbeInterval));
    flag('--app-health-probe-timeout', String(values.appHealthProbeTimeout));
    flag('--app-health-threshold', String(values.appHealthThreshold));
  }
  if (values.logAsJson) flag('--log-as-json');
  if (values.enableProfiling) flag('--enable-profiling');
  if (settings.mtlsEnabled) flag('--enable-mtls');
  if (values.appSsl) flag('--app-ssl');
  if (values.appMaxConcurrency !== undefined) flag('--app-max-concurrency', String(values.appMaxConcurrency));
  if (values.httpMaxRequestSize !== undefined) flag('--dapr-http-max-request-size', String(values.httpMaxRequestSize));
  if (values.maxBodySize !== '') flag('--max-body-size', values.maxBodySize);
  if (values.httpReadBufferSize !== undefined) flag('--dapr-http-read-buffer-size', String(values.httpReadBufferSize));
  if (values.readBufferSize !== '') flag('--read-buffer-size', values.readBufferSize);
  if (values.unixDomainSocketPath !== '') flag('--unix-domain-socket', UNIX_DOMAIN_SOCKET_DAPRD_PATH);
  if (values.blockShutdownDuration !== undefined) flag('--dapr-block-shutdown-duration', values.blockShutdownDuration);
  if (values.actorsDisseminateTimeout !== undefined) flag('--actors-disseminate-timeout', values.actorsDisseminateTimeout);
  if (values.schedulerHostAddress !== undefined) flag('--scheduler-host-address', values.schedulerHostAddress);
  else if (settings.schedulerEnabled) flag('--scheduler-host-address', schedulerAddress(settings.controlPlaneNamespace, settings.kubeClusterDomain));
  if (values.disableInitEndpoints !== undefined) flag('--disable-init-endpoints', values.disableInitEndpoints);

  if (values.enableDebug) {
    ports.push({ name: 'dapr-debug', containerPort: values.debugPort });
    command = ['/dlv'];
    args = ['--listen', `:${values.debugPort}`, '--accept-multiclient', '--headless=true', '--log', '--api-version=2', 'exec', '/daprd', '--', ...args];
  }

  const securityContext: SecurityContext = {};
  if (settings.dropAllCapabilities) securityContext.capabilities = { drop: ['ALL'] };
  if (settings.runAsUser !== undefined) securityContext.runAsUser = settings.runAsUser;
  if (settings.runAsGroup !== undefined) securityContext.runAsGroup = settings.runAsGroup;
  securityContext.runAsNonRoot = settings.runAsNonRoot;
  securityContext.readOnlyRootFilesystem = settings.readOnlyRootFilesystem;
  securityContext.allowPrivilegeEscalation = false;
  if (values.seccompProfileType !== '') securityContext.seccompProfile = { type: values.seccompProfileType };

  const env: EnvVar[] = [
    { name: 'NAMESPACE', value: input.namespace },
    // Go's encoder leaves out an empty value; so do we.
    settings.trustAnchorsPem === '' ? { name: 'DAPR_TRUST_ANCHORS' } : { name: 'DAPR_TRUST_ANCHORS', value: settings.trustAnchorsPem },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'DAPR_CONTROLPLANE_NAMESPACE', value: settings.controlPlaneNamespace },
    { name: 'DAPR_CONTROLPLANE_TRUST_DOMAIN', value: settings.controlPlaneTrustDomain },
  ];
  if (settings.enableK8sDownwardApis) env.push({ name: 'DAPR_HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });

  const plain = parseEnvAnnotation(ANNOTATIONS.env.key, values.env, false);
  const secret = parseEnvAnnotation(ANNOTATIONS.envFromSecret.key, values.envFromSecret, true);
  diagnostics.push(...plain.diagnostics, ...secret.diagnostics);
  env.push(...plain.vars, ...secret.vars);
  const envKeys = [...plain.keys, ...secret.keys];
  if (envKeys.length > 0) env.push({ name: 'DAPR_ENV_KEYS', value: envKeys.join(' ') });

  // Windows containers need administrator rights to install certificates
  // into the root store when SSL_CERT_DIR is set (upstream's special case).
  if (env.some((variable) => variable.name === 'SSL_CERT_DIR')) {
    securityContext.windowsOptions = { runAsUserName: 'ContainerAdministrator' };
    securityContext.runAsNonRoot = false;
    securityContext.readOnlyRootFilesystem = false;
    delete securityContext.runAsUser;
    delete securityContext.runAsGroup;
  }

  const volumeMounts = [...input.volumeMounts];
  if (input.componentsSocketsMount) {
    volumeMounts.push(input.componentsSocketsMount);
    env.push({ name: COMPONENTS_SOCKETS_FOLDER_ENV, value: input.componentsSocketsMount.mountPath });
  }
  if (values.apiTokenSecret !== '') env.push({ name: 'DAPR_API_TOKEN', valueFrom: { secretKeyRef: { name: values.apiTokenSecret, key: 'token' } } });
  if (values.appTokenSecret !== '') env.push({ name: 'APP_API_TOKEN', valueFrom: { secretKeyRef: { name: values.appTokenSecret, key: 'token' } } });

  // Built field by field in upstream's (Go struct) order; conditional spreads are slow in V8.
  const container: { -readonly [K in keyof Container]: Container[K] } = {
    name: SIDECAR_CONTAINER_NAME,
    image: values.sidecarImage !== '' ? values.sidecarImage : settings.sidecarImage,
  };
  if (podHasAnyToleration(settings.ignoreEntrypointTolerations, input.pod.spec?.tolerations ?? [])) {
    container.command = command;
    container.args = args;
  } else {
    container.args = [...command, ...args];
  }
  container.ports = ports;
  container.env = env;
  container.resources = resourceRequirements(values);
  if (input.nativeSidecar) container.restartPolicy = 'Always';
  if (volumeMounts.length > 0) container.volumeMounts = volumeMounts;
  container.livenessProbe = probe(
    { tcpSocket: { port: SIDECAR_PUBLIC_PORT } },
    values.livenessProbeDelaySeconds,
    values.livenessProbeTimeoutSeconds,
    values.livenessProbePeriodSeconds,
    values.livenessProbeThreshold,
  );
  container.readinessProbe = probe(
    { httpGet: { path: '/v1.0/healthz', port: SIDECAR_PUBLIC_PORT } },
    values.readinessProbeDelaySeconds,
    values.readinessProbeTimeoutSeconds,
    values.readinessProbePeriodSeconds,
    values.readinessProbeThreshold,
  );
  container.imagePullPolicy = settings.imagePullPolicy;
  container.securityContext = securityContext;
  return { container, diagnostics };
}

/** Go's encoder omits zero-valued probe fields; the API server then applies its own defaults. */
function probe(handler: Pick<Probe, 'httpGet' | 'tcpSocket'>, delay: number, timeout: number, period: number, threshold: number): Probe {
  const out: { -readonly [K in keyof Probe]: Probe[K] } = {};
  if (handler.httpGet) out.httpGet = handler.httpGet;
  if (handler.tcpSocket) out.tcpSocket = handler.tcpSocket;
  if (delay !== 0) out.initialDelaySeconds = delay;
  if (timeout !== 0) out.timeoutSeconds = timeout;
  if (period !== 0) out.periodSeconds = period;
  if (threshold !== 0) out.failureThreshold = threshold;
  return out;
}

/**
 * Requests and limits from the four annotations. As upstream does, one
 * malformed quantity drops them all (the check step warns about it).
 */
function resourceRequirements(values: SidecarAnnotations): NonNullable<Container['resources']> {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  const entries = [
    [values.cpuRequest, requests, 'cpu'],
    [values.cpuLimit, limits, 'cpu'],
    [values.memoryRequest, requests, 'memory'],
    [values.memoryLimit, limits, 'memory'],
  ] as const;
  for (const [raw, target, resource] of entries) {
    if (raw === '') continue;
    if (parseQuantity(raw) === undefined) return {};
    target[resource] = raw;
  }
  const out: { limits?: Record<string, string>; requests?: Record<string, string> } = {};
  if (Object.keys(limits).length > 0) out.limits = limits;
  if (Object.keys(requests).length > 0) out.requests = requests;
  return out;
}

/** Upstream compares tolerations field by field (Go struct equality). */
function podHasAnyToleration(wanted: readonly Toleration[], present: readonly Toleration[]): boolean {
  return wanted.some((w) => present.some((p) => sameToleration(w, p)));
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return (
    (a.key ?? '') === (b.key ?? '') &&
    (a.operator ?? '') === (b.operator ?? '') &&
    (a.value ?? '') === (b.value ?? '') &&
    (a.effect ?? '') === (b.effect ?? '') &&
    (a.tolerationSeconds ?? null) === (b.tolerationSeconds ?? null)
  );
}
