import { ANNOTATIONS } from '../annotations/annotation-table.js';
import { checkAnnotations } from '../annotations/check-annotations.js';
import { quote, warning, type Diagnostic } from '../annotations/diagnostic.js';
import { parseAnnotations, suggestKey } from '../annotations/parse-annotations.js';
import { isTruthy } from '../annotations/value-parsers.js';
import { parseVolumeMounts } from './annotation-lists.js';
import { SERVICE_PLACEMENT, serviceAddress, type InjectorSettings } from './injector-settings.js';
import type { Container, EnvVar, Pod, PatchOperation, Volume, VolumeMount } from './pod-types.js';
import { sidecarVersion, type SidecarVersion } from '../versions/daprd-versions.js';
import { fitToVersion } from '../versions/versioned-annotations.js';
import { COMPONENTS_SOCKETS_FOLDER_ENV, SIDECAR_CONTAINER_NAME, UNIX_DOMAIN_SOCKET_DAPRD_PATH, buildSidecarContainer } from './sidecar-container.js';

export const TOKEN_VOLUME_NAME = 'dapr-identity-token';
export const TOKEN_MOUNT_PATH = '/var/run/secrets/dapr.io/sentrytoken';
export const TOKEN_EXPIRATION_SECONDS = 7200;
export const UNIX_DOMAIN_SOCKET_VOLUME = 'dapr-unix-domain-socket';
export const COMPONENTS_SOCKET_VOLUME = 'dapr-components-unix-domain-socket';

export const LABEL_SIDECAR_INJECTED = 'dapr.io/sidecar-injected';
export const LABEL_APP_ID = 'dapr.io/app-id';
export const LABEL_METRICS_ENABLED = 'dapr.io/metrics-enabled';

export interface SidecarPatchInput {
  readonly pod: Pod;
  /** The namespace the pod is created in (the AdmissionRequest's, which the pod object may lack). */
  readonly namespace: string;
  readonly settings: InjectorSettings;
  /** Pluggable-component containers declared on Components (`dapr.io/component-container`) for this app. */
  readonly injectedComponentContainers?: readonly Container[];
  /** The daprd version the sidecar will run; computed from the image when absent. */
  readonly version?: SidecarVersion;
}

export type SkipReason = 'not_enabled' | 'already_injected';

export type SidecarPatchResult =
  | { readonly kind: 'skip'; readonly reason: SkipReason; readonly warnings: readonly Diagnostic[] }
  | { readonly kind: 'patch'; readonly appId: string; readonly patch: readonly PatchOperation[]; readonly warnings: readonly Diagnostic[]; readonly version: SidecarVersion }
  | {
      readonly kind: 'deny';
      readonly appId: string;
      readonly message: string;
      readonly denials: readonly Diagnostic[];
      readonly warnings: readonly Diagnostic[];
      readonly version: SidecarVersion;
    };

/**
 * The RFC 6902 patch that gives a pod its `daprd` sidecar, exactly as
 * upstream's `SidecarConfig.GetPatch` of the sidecar's daprd minor version
 * builds it for the same annotations and injector settings (spec 5.3 and
 * 5.4; the per-version table is `versions/daprd-versions.ts`). A pure function: no I/O, no clock.
 *
 * Skips a pod whose `dapr.io/enabled` is not "true" (upstream's admission
 * gate), and one that already has a `daprd` container or init container,
 * which makes reinvocation a no-op. Denies a pod whose annotations would give
 * a sidecar that cannot work, with a message naming the annotation and the
 * fix; warns about values it had to ignore.
 *
 * Deliberate differences from upstream, all fixes of outright bugs: when a
 * pod without volumes also gets the pluggable-components socket volume, that
 * volume is appended instead of replacing the token volume; app containers
 * get their env in index order (upstream iterates a Go map).
 */
export function buildSidecarPatch(input: SidecarPatchInput): SidecarPatchResult {
  const { pod, settings } = input;
  const annotations = pod.metadata?.annotations ?? {};

  if (!isEnabled(annotations)) return { kind: 'skip', reason: 'not_enabled', warnings: enabledGate(annotations) };
  if (hasSidecar(pod)) return { kind: 'skip', reason: 'already_injected', warnings: [] };

  const version = input.version ?? podSidecarVersion(pod, settings);
  const raw = parseAnnotations(annotations);
  const fitted = fitToVersion(raw, version, settings.nativeSidecarDefault);
  const parsed = fitted.parsed;
  const { values } = parsed;
  const checked = checkAnnotations(parsed, {
    podName: pod.metadata?.name ?? '',
    generateName: pod.metadata?.generateName ?? '',
    ownedByController: (pod.metadata?.ownerReferences ?? []).some((owner) => owner.controller === true),
    nativeSidecarDefault: fitted.nativeSidecarDefault,
    nativeSidecarsSupported: settings.nativeSidecarsSupported,
  });
  const appId = checked.appId;
  const diagnostics: Diagnostic[] = [...raw.diagnostics, ...fitted.diagnostics, ...checked.diagnostics];

  const podVolumes = pod.spec?.volumes ?? [];
  const containers = pod.spec?.containers ?? [];
  const componentNames = new Set(values.pluggableComponents.split(','));
  const appContainers = containers.map((container, index) => ({ container, index })).filter(({ container }) => !componentNames.has(container.name));
  const componentContainers = containers.map((container, index) => ({ container, index })).filter(({ container }) => componentNames.has(container.name));

  // Volume mounts of daprd: the annotations' (read-only, then read-write), the UDS folder, the token.
  const readOnly = parseVolumeMounts(ANNOTATIONS.volumeMounts.key, values.volumeMounts, true, podVolumes);
  const readWrite = parseVolumeMounts(ANNOTATIONS.volumeMountsRw.key, values.volumeMountsRw, false, podVolumes);
  diagnostics.push(...readOnly.diagnostics, ...readWrite.diagnostics);
  const daprdMounts: VolumeMount[] = [...readOnly.mounts, ...readWrite.mounts];
  const newVolumes: Volume[] = [];
  const appMounts: VolumeMount[] = [];
  if (values.unixDomainSocketPath !== '') {
    newVolumes.push({ name: UNIX_DOMAIN_SOCKET_VOLUME, emptyDir: { medium: 'Memory' } });
    daprdMounts.push({ name: UNIX_DOMAIN_SOCKET_VOLUME, mountPath: UNIX_DOMAIN_SOCKET_DAPRD_PATH });
    appMounts.push({ name: UNIX_DOMAIN_SOCKET_VOLUME, mountPath: values.unixDomainSocketPath });
  }

  const injected = values.injectPluggableComponents ? (input.injectedComponentContainers ?? []) : [];
  const components = componentContainers.length > 0 || injected.length > 0;
  const socketsMount: VolumeMount | undefined = components
    ? { name: COMPONENTS_SOCKET_VOLUME, mountPath: values.pluggableComponentsSocketsFolder || settings.componentsSocketsFolder }
    : undefined;

  if (settings.tokenVolume) {
    newVolumes.push({
      name: TOKEN_VOLUME_NAME,
      projected: {
        sources: [{ serviceAccountToken: { audience: sentrySpiffeId(settings), expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } }],
        defaultMode: 420,
      },
    });
    daprdMounts.push({ name: TOKEN_VOLUME_NAME, readOnly: true, mountPath: TOKEN_MOUNT_PATH });
  }

  const actors = actorsFlags(settings);
  const built = buildSidecarContainer({
    values,
    appId,
    namespace: input.namespace,
    pod,
    settings,
    placementAddress: parsed.present.has('placementHostAddress') ? values.placementHostAddress : actors.placementAddress,
    actorsService: actors.actorsService,
    volumeMounts: daprdMounts,
    componentsSocketsMount: socketsMount,
    nativeSidecar: checked.nativeSidecar,
    version: version.minor,
  });
  diagnostics.push(...built.diagnostics);

  const denials = diagnostics.filter((d) => d.severity === 'denial');
  const warnings = diagnostics.filter((d) => d.severity === 'warning');
  if (denials.length > 0) {
    return { kind: 'deny', appId, message: denials.map((d) => d.message).join('; '), denials, warnings, version };
  }

  const patch: PatchOperation[] = [];
  if (containers.length === 0) patch.push({ op: 'add', path: '/spec/containers', value: [] });
  if (Object.keys(pod.metadata?.labels ?? {}).length === 0) patch.push({ op: 'add', path: '/metadata/labels', value: {} });

  const volumes = new VolumeOps(podVolumes);
  volumes.add(newVolumes, patch);

  let sidecarPath = '/spec/containers';
  if (checked.nativeSidecar) {
    sidecarPath = '/spec/initContainers';
    if ((pod.spec?.initContainers ?? []).length === 0) patch.push({ op: 'add', path: '/spec/initContainers', value: [] });
  }
  patch.push(
    { op: 'add', path: `${sidecarPath}/-`, value: built.container },
    { op: 'add', path: `/metadata/labels/${escapePointer(LABEL_SIDECAR_INJECTED)}`, value: 'true' },
    { op: 'add', path: `/metadata/labels/${escapePointer(LABEL_APP_ID)}`, value: appId },
    { op: 'add', path: `/metadata/labels/${escapePointer(LABEL_METRICS_ENABLED)}`, value: String(values.enableMetrics) },
  );

  const appEnv: EnvVar[] = [
    { name: 'DAPR_HTTP_PORT', value: '3500' },
    { name: 'DAPR_GRPC_PORT', value: String(values.grpcPort) },
  ];
  const protocol = appProtocolForApp(values.appProtocol, values.appSsl);
  if (protocol !== '') appEnv.push({ name: 'APP_PROTOCOL', value: protocol });
  for (const { container, index } of appContainers) patch.push(...envOps(container, appEnv, index));
  for (const mount of appMounts) {
    for (const { container, index } of appContainers) patch.push(...volumeMountOps(container, [mount], index));
  }

  if (socketsMount) {
    volumes.add([{ name: COMPONENTS_SOCKET_VOLUME, emptyDir: {} }], patch);
    const socketsEnv: EnvVar[] = [{ name: COMPONENTS_SOCKETS_FOLDER_ENV, value: socketsMount.mountPath }];
    for (const { container, index } of componentContainers) {
      patch.push(...envOps(container, socketsEnv, index), ...volumeMountOps(container, [socketsMount], index));
    }
    for (const container of injected) {
      const emptyDirs = (container.volumeMounts ?? []).filter((mount) => !volumes.has(mount.name)).map((mount): Volume => ({ name: mount.name, emptyDir: {} }));
      volumes.add(emptyDirs, patch);
      patch.push({
        op: 'add',
        path: '/spec/containers/-',
        value: { ...container, env: [...(container.env ?? []), ...socketsEnv], volumeMounts: [...(container.volumeMounts ?? []), socketsMount] },
      });
    }
  }

  return { kind: 'patch', appId, patch, warnings, version };
}

/**
 * The daprd version a pod's sidecar will run: from `dapr.io/sidecar-image`
 * when set (as upstream reads it, any present value), else SIDECAR_IMAGE
 * (with the --sidecar-version hint for an image without a version tag).
 */
export function podSidecarVersion(pod: Pod, settings: InjectorSettings): SidecarVersion {
  const own = pod.metadata?.annotations?.[ANNOTATIONS.sidecarImage.key];
  const image = own !== undefined && own !== '' ? own : settings.sidecarImage;
  return sidecarVersion(image, settings.sidecarImage, settings.sidecarVersionHint);
}

/** Upstream's admission gate: `dapr.io/enabled` equal to "true", ignoring case. */
export function isEnabled(annotations: Readonly<Record<string, string>>): boolean {
  return (annotations[ANNOTATIONS.enabled.key] ?? '').toLowerCase() === 'true';
}

/**
 * Why a pod that looks meant for Dapr is not injected: `dapr.io/enabled`
 * with a truthy value other than "true" (upstream skips it silently), or a
 * misspelled `dapr.io/enabled` key.
 */
export function enabledGate(annotations: Readonly<Record<string, string>>): Diagnostic[] {
  const key = ANNOTATIONS.enabled.key;
  const out: Diagnostic[] = [];
  const value = annotations[key];
  if (value !== undefined) {
    if (!isEnabled(annotations) && isTruthy(value)) {
      out.push(warning('enabled_not_true', key, `${key} is ${quote(value)}: only "true" enables sidecar injection, so this pod gets no daprd sidecar`));
    }
    return out;
  }
  for (const other of Object.keys(annotations)) {
    if (other.length < 100 && suggestKey(other) === key) {
      out.push(warning('unknown_annotation', other, `${other} is not a Dapr annotation, so this pod gets no daprd sidecar: did you mean ${key}?`));
    }
  }
  return out;
}

export function hasSidecar(pod: Pod): boolean {
  const named = (container: Container): boolean => container.name === SIDECAR_CONTAINER_NAME;
  return (pod.spec?.containers ?? []).some(named) || (pod.spec?.initContainers ?? []).some(named);
}

/** The audience of the projected token: the Sentry SPIFFE ID (spec 5.3). */
function sentrySpiffeId(settings: InjectorSettings): string {
  return `spiffe://${settings.controlPlaneTrustDomain}/ns/${settings.controlPlaneNamespace}/dapr-sentry`;
}

function actorsFlags(settings: InjectorSettings): { placementAddress: string | undefined; actorsService: string | undefined } {
  if (!settings.actorsEnabled) return { placementAddress: undefined, actorsService: undefined };
  const service = settings.actorsService ?? { name: 'placement', ...SERVICE_PLACEMENT };
  const address = serviceAddress(service, settings.controlPlaneNamespace, settings.kubeClusterDomain);
  return service.name === 'placement' ? { placementAddress: address, actorsService: undefined } : { placementAddress: undefined, actorsService: `${service.name}:${address}` };
}

/** Upstream's `GetAppProtocol`: the value the app sees in `APP_PROTOCOL`; empty for unknown protocols. */
export function appProtocolForApp(protocol: string, appSsl: boolean): string {
  const value = protocol.toLowerCase();
  switch (value) {
    case 'grpcs':
    case 'https':
    case 'h2c':
      return value;
    case 'http':
      return appSsl ? 'https' : 'http';
    case 'grpc':
      return appSsl ? 'grpcs' : 'grpc';
    case '':
      return 'http';
    default:
      return '';
  }
}

/** Adds volumes: the whole array when the pod has none yet, else one `-` append per name not already there. */
class VolumeOps {
  private readonly names: Set<string>;
  private exists: boolean;

  constructor(volumes: readonly Volume[]) {
    this.names = new Set(volumes.map((volume) => volume.name));
    this.exists = volumes.length > 0;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  add(volumes: readonly Volume[], patch: PatchOperation[]): void {
    const fresh = volumes.filter((volume) => !this.names.has(volume.name));
    if (fresh.length === 0) return;
    if (!this.exists) {
      patch.push({ op: 'add', path: '/spec/volumes', value: fresh });
      this.exists = true;
    } else {
      for (const volume of fresh) patch.push({ op: 'add', path: '/spec/volumes/-', value: volume });
    }
    for (const volume of fresh) this.names.add(volume.name);
  }
}

/** Upstream's `GetEnvPatchOperations`: env vars the container lacks, never overriding its own. */
function envOps(container: Container, add: readonly EnvVar[], index: number): PatchOperation[] {
  const path = `/spec/containers/${index}/env`;
  const existing = container.env ?? [];
  if (existing.length === 0) return [{ op: 'add', path, value: add }];
  const names = new Set(existing.map((env) => env.name));
  return add.filter((env) => !names.has(env.name)).map((env) => ({ op: 'add', path: `${path}/-`, value: env }));
}

/** Upstream's `GetVolumeMountPatchOperations`: skips a mount whose path or name the container already uses. */
function volumeMountOps(container: Container, add: readonly VolumeMount[], index: number): PatchOperation[] {
  const path = `/spec/containers/${index}/volumeMounts`;
  const existing = container.volumeMounts ?? [];
  if (existing.length === 0) return [{ op: 'add', path, value: add }];
  const paths = new Set(existing.map((mount) => mount.mountPath));
  const names = new Set(existing.map((mount) => mount.name));
  return add.filter((mount) => !paths.has(mount.mountPath) && !names.has(mount.name)).map((mount) => ({ op: 'add', path: `${path}/-`, value: mount }));
}

/** RFC 6901: `~` as `~0`, `/` as `~1`. */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
