import type { Toleration } from './pod-types.js';

/**
 * What the sidecar patch needs to know about the injector and the cluster.
 * The webhook builds it from options plus live state (trust anchors, the
 * `daprsystem` Configuration's mTLS setting); the CLI from its flags.
 */
export interface InjectorSettings {
  /** `SIDECAR_IMAGE`; `dapr.io/sidecar-image` overrides it per pod. */
  readonly sidecarImage: string;
  /** `--sidecar-version`: the daprd version of SIDECAR_IMAGE when its reference has no version tag (a digest). */
  readonly sidecarVersionHint?: string;
  /** `SIDECAR_IMAGE_PULL_POLICY`, already mapped as upstream maps it. */
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly controlPlaneNamespace: string;
  readonly controlPlaneTrustDomain: string;
  readonly kubeClusterDomain: string;
  /** PEM, set as `DAPR_TRUST_ANCHORS` on the sidecar. */
  readonly trustAnchorsPem: string;
  /** From the `daprsystem` Configuration; true when it is missing or unreadable. */
  readonly mtlsEnabled: boolean;
  /** `--scheduler-enabled`: pass the scheduler address to sidecars. */
  readonly schedulerEnabled: boolean;
  /** `ACTORS_ENABLED`: pass the placement address to sidecars. */
  readonly actorsEnabled: boolean;
  /** `ACTORS_SERVICE_NAME`/`_ADDRESS`; undefined means placement (the default). */
  readonly actorsService?: ControlPlaneService & { readonly name: string };
  /** `REMINDERS_SERVICE_NAME`/`_ADDRESS`; undefined means the built-in reminders. */
  readonly remindersService?: ControlPlaneService & { readonly name: string };
  /** `IGNORE_ENTRYPOINT_TOLERATIONS`: pods with one of these get `command` + `args`. */
  readonly ignoreEntrypointTolerations: readonly Toleration[];
  readonly runAsNonRoot: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly readOnlyRootFilesystem: boolean;
  /** `ENABLE_K8S_DOWNWARD_APIS`: add `DAPR_HOST_IP` from `status.podIP`. */
  readonly enableK8sDownwardApis: boolean;
  readonly dropAllCapabilities: boolean;
  /** `NATIVE_SIDECAR_ENABLED`; `dapr.io/enable-native-sidecar` overrides it per pod. */
  readonly nativeSidecarDefault: boolean;
  /** False when the API server is older than 1.29; native sidecars are then refused. */
  readonly nativeSidecarsSupported: boolean;
  /**
   * Add the projected `dapr-identity-token` volume. Upstream leaves it out
   * when the injector itself runs without a service-account token.
   */
  readonly tokenVolume: boolean;
  /** `DAPR_COMPONENT_SOCKETS_FOLDER` of the injector, else `/tmp/dapr-components-sockets`. */
  readonly componentsSocketsFolder: string;
  /** `kubernetes` for the webhook and the CLI. */
  readonly mode: 'kubernetes' | 'standalone';
}

/** A control-plane Service as upstream's patcher names it: `<name>.<ns>.svc.<domain>:<port>`. */
export interface ControlPlaneService {
  readonly service: string;
  readonly port: number;
}

export const SERVICE_API: ControlPlaneService = { service: 'dapr-api', port: 443 };
export const SERVICE_SENTRY: ControlPlaneService = { service: 'dapr-sentry', port: 443 };
export const SERVICE_PLACEMENT: ControlPlaneService = { service: 'dapr-placement-server', port: 50005 };

export function serviceAddress(service: ControlPlaneService, namespace: string, clusterDomain: string): string {
  return `${service.service}.${namespace}.svc.${clusterDomain}:${service.port}`;
}

/** The scheduler address upstream gives sidecars: the headless Service's `a` record set. */
export function schedulerAddress(namespace: string, clusterDomain: string): string {
  return `dapr-scheduler-server-a.${namespace}.svc.${clusterDomain}:443`;
}

/** Parses `<name>:<port>` as upstream's `patcher.NewService` does; undefined when malformed. */
export function parseControlPlaneService(value: string): ControlPlaneService | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) return undefined;
  const port = Number(value.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return { service: value.slice(0, colon), port };
}

/** Sensible settings for tests and the CLI, in the shape the chart's defaults give. */
export function defaultInjectorSettings(overrides: Partial<InjectorSettings> = {}): InjectorSettings {
  return {
    sidecarImage: 'ghcr.io/dapr/daprd:1.17.5',
    imagePullPolicy: 'IfNotPresent',
    controlPlaneNamespace: 'dapr-system',
    controlPlaneTrustDomain: 'cluster.local',
    kubeClusterDomain: 'cluster.local',
    trustAnchorsPem: '',
    mtlsEnabled: true,
    schedulerEnabled: true,
    actorsEnabled: true,
    ignoreEntrypointTolerations: [],
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    enableK8sDownwardApis: false,
    dropAllCapabilities: false,
    nativeSidecarDefault: false,
    nativeSidecarsSupported: true,
    tokenVolume: true,
    componentsSocketsFolder: '/tmp/dapr-components-sockets',
    mode: 'kubernetes',
    ...overrides,
  };
}
