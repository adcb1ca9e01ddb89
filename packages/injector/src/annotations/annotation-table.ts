/**
 * Every pod annotation the injector reads, with upstream's default (spec
 * 5.5; `pkg/injector/patcher/sidecar.go` in Dapr 1.18). Rows marked
 * `versioned` take their default from the target daprd version instead
 * (`versions/daprd-versions.ts`); annotations only some versions read are
 * listed there too. The parser in
 * `parse-annotations.ts` turns a pod's annotations into a typed
 * `SidecarAnnotations` from this table, so adding a row here is all it takes
 * to read a new annotation.
 *
 * Kinds:
 * - `bool`: Dapr's truthy set (`y`, `yes`, `true`, `t`, `on`, `1`), else false.
 * - `int`: a base-10 integer; a malformed one is ignored (the default stays).
 * - `string`: any value, including an explicit empty one.
 * - `optional-*`: undefined unless the annotation is present; daprd then gets
 *   the flag even when the value is empty, as upstream passes it.
 */
export type AnnotationSpec =
  | { readonly key: string; readonly kind: 'bool'; readonly default: boolean }
  | { readonly key: string; readonly kind: 'int'; readonly default: number; readonly port?: boolean; readonly min?: number; readonly versioned?: true }
  | { readonly key: string; readonly kind: 'string'; readonly default: string }
  | { readonly key: string; readonly kind: 'optional-bool' }
  | { readonly key: string; readonly kind: 'optional-int'; readonly min?: number }
  | { readonly key: string; readonly kind: 'optional-string' };

export const ANNOTATIONS = {
  enabled: { key: 'dapr.io/enabled', kind: 'bool', default: false },
  appId: { key: 'dapr.io/app-id', kind: 'string', default: '' },
  appPort: { key: 'dapr.io/app-port', kind: 'int', default: 0, port: true },
  appProtocol: { key: 'dapr.io/app-protocol', kind: 'string', default: 'http' },
  appSsl: { key: 'dapr.io/app-ssl', kind: 'bool', default: false },
  config: { key: 'dapr.io/config', kind: 'string', default: '' },
  appChannelAddress: { key: 'dapr.io/app-channel-address', kind: 'string', default: '' },
  logLevel: { key: 'dapr.io/log-level', kind: 'string', default: 'info' },
  logAsJson: { key: 'dapr.io/log-as-json', kind: 'bool', default: false },
  enableApiLogging: { key: 'dapr.io/enable-api-logging', kind: 'optional-bool' },
  enableProfiling: { key: 'dapr.io/enable-profiling', kind: 'bool', default: false },
  appMaxConcurrency: { key: 'dapr.io/app-max-concurrency', kind: 'optional-int' },
  enableMetrics: { key: 'dapr.io/enable-metrics', kind: 'bool', default: true },
  metricsPort: { key: 'dapr.io/metrics-port', kind: 'int', default: 9090, port: true },
  enableDebug: { key: 'dapr.io/enable-debug', kind: 'bool', default: false },
  debugPort: { key: 'dapr.io/debug-port', kind: 'int', default: 40000, port: true },
  grpcPort: { key: 'dapr.io/grpc-port', kind: 'int', default: 50001, port: true },
  internalGrpcPort: { key: 'dapr.io/internal-grpc-port', kind: 'int', default: 50002, port: true },
  listenAddresses: { key: 'dapr.io/sidecar-listen-addresses', kind: 'string', default: '[::1],127.0.0.1' },
  httpMaxRequestSize: { key: 'dapr.io/http-max-request-size', kind: 'optional-int' },
  maxBodySize: { key: 'dapr.io/max-body-size', kind: 'string', default: '' },
  httpReadBufferSize: { key: 'dapr.io/http-read-buffer-size', kind: 'optional-int' },
  readBufferSize: { key: 'dapr.io/read-buffer-size', kind: 'string', default: '' },
  gracefulShutdownSeconds: { key: 'dapr.io/graceful-shutdown-seconds', kind: 'int', default: -1 },
  blockShutdownDuration: { key: 'dapr.io/block-shutdown-duration', kind: 'optional-string' },
  unixDomainSocketPath: { key: 'dapr.io/unix-domain-socket-path', kind: 'string', default: '' },
  disableBuiltinK8sSecretStore: { key: 'dapr.io/disable-builtin-k8s-secret-store', kind: 'bool', default: false },
  env: { key: 'dapr.io/env', kind: 'string', default: '' },
  envFromSecret: { key: 'dapr.io/env-from-secret', kind: 'string', default: '' },
  apiTokenSecret: { key: 'dapr.io/api-token-secret', kind: 'string', default: '' },
  appTokenSecret: { key: 'dapr.io/app-token-secret', kind: 'string', default: '' },
  disableInitEndpoints: { key: 'dapr.io/disable-init-endpoints', kind: 'optional-string' },

  enableAppHealthCheck: { key: 'dapr.io/enable-app-health-check', kind: 'bool', default: false },
  appHealthCheckPath: { key: 'dapr.io/app-health-check-path', kind: 'string', default: '/healthz' },
  appHealthProbeInterval: { key: 'dapr.io/app-health-probe-interval', kind: 'int', default: 5 },
  appHealthProbeTimeout: { key: 'dapr.io/app-health-probe-timeout', kind: 'int', default: 500 },
  appHealthThreshold: { key: 'dapr.io/app-health-threshold', kind: 'int', default: 3 },
  appBindingOptionsTimeout: { key: 'dapr.io/app-binding-options-timeout', kind: 'optional-string' },

  cpuRequest: { key: 'dapr.io/sidecar-cpu-request', kind: 'string', default: '' },
  cpuLimit: { key: 'dapr.io/sidecar-cpu-limit', kind: 'string', default: '' },
  memoryRequest: { key: 'dapr.io/sidecar-memory-request', kind: 'string', default: '' },
  memoryLimit: { key: 'dapr.io/sidecar-memory-limit', kind: 'string', default: '' },
  livenessProbeDelaySeconds: { key: 'dapr.io/sidecar-liveness-probe-delay-seconds', kind: 'int', default: 180, min: 0, versioned: true },
  livenessProbeTimeoutSeconds: { key: 'dapr.io/sidecar-liveness-probe-timeout-seconds', kind: 'int', default: 3, min: 0, versioned: true },
  livenessProbePeriodSeconds: { key: 'dapr.io/sidecar-liveness-probe-period-seconds', kind: 'int', default: 10, min: 0, versioned: true },
  livenessProbeThreshold: { key: 'dapr.io/sidecar-liveness-probe-threshold', kind: 'int', default: 5, min: 0, versioned: true },
  readinessProbeDelaySeconds: { key: 'dapr.io/sidecar-readiness-probe-delay-seconds', kind: 'int', default: 1, min: 0, versioned: true },
  readinessProbeTimeoutSeconds: { key: 'dapr.io/sidecar-readiness-probe-timeout-seconds', kind: 'int', default: 1, min: 0, versioned: true },
  readinessProbePeriodSeconds: { key: 'dapr.io/sidecar-readiness-probe-period-seconds', kind: 'int', default: 1, min: 0, versioned: true },
  readinessProbeThreshold: { key: 'dapr.io/sidecar-readiness-probe-threshold', kind: 'int', default: 5, min: 0, versioned: true },
  sidecarImage: { key: 'dapr.io/sidecar-image', kind: 'string', default: '' },
  seccompProfileType: { key: 'dapr.io/sidecar-seccomp-profile-type', kind: 'string', default: '' },
  volumeMounts: { key: 'dapr.io/volume-mounts', kind: 'string', default: '' },
  volumeMountsRw: { key: 'dapr.io/volume-mounts-rw', kind: 'string', default: '' },
  enableNativeSidecar: { key: 'dapr.io/enable-native-sidecar', kind: 'optional-bool' },

  placementHostAddress: { key: 'dapr.io/placement-host-address', kind: 'optional-string' },
  schedulerHostAddress: { key: 'dapr.io/scheduler-host-address', kind: 'optional-string' },
  actorsDisseminateTimeout: { key: 'dapr.io/actors-disseminate-timeout', kind: 'optional-string' },
  sentryRequestJwtAudiences: { key: 'dapr.io/sentry-request-jwt-audiences', kind: 'string', default: '' },

  pluggableComponents: { key: 'dapr.io/pluggable-components', kind: 'string', default: '' },
  pluggableComponentsSocketsFolder: { key: 'dapr.io/pluggable-components-sockets-folder', kind: 'string', default: '' },
  injectPluggableComponents: { key: 'dapr.io/inject-pluggable-components', kind: 'bool', default: false },
} as const satisfies Record<string, AnnotationSpec>;

export type AnnotationName = keyof typeof ANNOTATIONS;

type ValueOf<S extends AnnotationSpec> = S['kind'] extends 'bool'
  ? boolean
  : S['kind'] extends 'int'
    ? number
    : S['kind'] extends 'string'
      ? string
      : S['kind'] extends 'optional-bool'
        ? boolean | undefined
        : S['kind'] extends 'optional-int'
          ? number | undefined
          : string | undefined;

/** A pod's Dapr annotations, typed and defaulted. */
export type SidecarAnnotations = { readonly [K in AnnotationName]: ValueOf<(typeof ANNOTATIONS)[K]> };

/**
 * Keys that are Dapr's but not read by the injector when it builds the
 * sidecar: they must not be reported as unknown.
 */
export const OTHER_KNOWN_KEYS: readonly string[] = [
  'dapr.io/control-plane',
  'dapr.io/component-container',
  'dapr.io/sidecar-svc-annotations',
  'dapr.io/sidecar-injected',
  'dapr.io/metrics-enabled',
];

export const KNOWN_KEYS: ReadonlySet<string> = new Set([...Object.values(ANNOTATIONS).map((spec) => spec.key), ...OTHER_KNOWN_KEYS]);

/** The app protocols daprd accepts (`--app-protocol`, compared case-insensitively). */
export const APP_PROTOCOLS = ['http', 'https', 'grpc', 'grpcs', 'h2c'] as const;

/** The log levels daprd accepts; any other value makes it exit at start. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;

/** What Kubernetes accepts for a container's seccompProfile.type. */
export const SECCOMP_PROFILE_TYPES = ['RuntimeDefault', 'Unconfined', 'Localhost'] as const;
