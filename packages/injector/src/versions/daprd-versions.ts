import type { AnnotationName } from '../annotations/annotation-table.js';

/**
 * Everything that differs between the sidecars upstream's injector builds
 * for each daprd minor version, in one place. The builder asks this table;
 * it holds no version conditionals of its own.
 *
 * Sources, per version: `dapr/dapr:pkg/injector/patcher/sidecar.go`,
 * `sidecar_container.go`, `sidecar_patcher.go`, `pkg/injector/service/injector.go`
 * and `cmd/daprd/options/options.go` at v1.17.5 and v1.18.1.
 */
export const DAPRD_MINORS = ['1.17', '1.18'] as const;
export type DaprdMinor = (typeof DAPRD_MINORS)[number];
export const NEWEST_MINOR: DaprdMinor = '1.18';
export const OLDEST_MINOR: DaprdMinor = '1.17';

/**
 * Every daprd flag the sidecar builder can emit, with the first daprd minor
 * that accepts it (`null`: no released daprd does). The builder's flags are typed by this table, and a test
 * runs `daprd --help` of each supported version against it.
 */
export const DAPRD_FLAG_SINCE = {
  '--dapr-http-port': '1.17',
  '--dapr-grpc-port': '1.17',
  '--dapr-internal-grpc-port': '1.17',
  '--dapr-listen-addresses': '1.17',
  '--dapr-public-port': '1.17',
  '--app-id': '1.17',
  '--app-protocol': '1.17',
  '--log-level': '1.17',
  '--dapr-graceful-shutdown-seconds': '1.17',
  '--mode': '1.17',
  '--control-plane-address': '1.17',
  '--sentry-address': '1.17',
  '--app-port': '1.17',
  '--enable-metrics': '1.17',
  '--metrics-port': '1.17',
  '--config': '1.17',
  '--app-channel-address': '1.17',
  '--placement-host-address': '1.17',
  // Deprecated and hidden from --help ("no longer has any effect"), still accepted.
  '--actors-service': '1.17',
  '--reminders-service': '1.17',
  '--sentry-request-jwt-audiences': '1.17',
  '--enable-api-logging': '1.17',
  '--disable-builtin-k8s-secret-store': '1.17',
  '--enable-app-health-check': '1.17',
  '--app-health-check-path': '1.17',
  '--app-health-probe-interval': '1.17',
  '--app-health-probe-timeout': '1.17',
  '--app-health-threshold': '1.17',
  '--log-as-json': '1.17',
  '--enable-profiling': '1.17',
  '--enable-mtls': '1.17',
  '--app-ssl': '1.17', // deprecated, hidden from --help, accepted
  '--app-max-concurrency': '1.17',
  '--dapr-http-max-request-size': '1.17',
  '--max-body-size': '1.17',
  '--dapr-http-read-buffer-size': '1.17',
  '--read-buffer-size': '1.17',
  '--unix-domain-socket': '1.17',
  '--dapr-block-shutdown-duration': '1.17',
  '--actors-disseminate-timeout': '1.18',
  '--scheduler-host-address': '1.17',
  '--disable-init-endpoints': '1.17',
} as const satisfies Record<string, DaprdMinor | null>;
export type DaprdFlag = keyof typeof DAPRD_FLAG_SINCE;

/**
 * Annotations that only some versions read. `null`: no released daprd has
 * the flag the annotation would need (`--app-binding-options-timeout` is in
 * neither 1.17.5 nor 1.18.1), so it is always dropped. Upstream's injector
 * of an older minor does not know these keys and ignores them; we drop them
 * too, with a warning naming the annotation and the version.
 */
export const ANNOTATION_SINCE: Partial<Record<AnnotationName, DaprdMinor | null>> = {
  actorsDisseminateTimeout: '1.18',
  enableNativeSidecar: '1.18',
  appBindingOptionsTimeout: null,
};

export type ProbeSetting =
  | 'livenessProbeDelaySeconds'
  | 'livenessProbeTimeoutSeconds'
  | 'livenessProbePeriodSeconds'
  | 'livenessProbeThreshold'
  | 'readinessProbeDelaySeconds'
  | 'readinessProbeTimeoutSeconds'
  | 'readinessProbePeriodSeconds'
  | 'readinessProbeThreshold';

export interface VersionShape {
  /** The `dapr.io/sidecar-*-probe-*` defaults when the annotation is absent or unusable. */
  readonly probeDefaults: Readonly<Record<ProbeSetting, number>>;
  /**
   * Which allow-list entries match a requester by `namespace:name`:
   * `prefix-names-only` (1.17: only ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES; the
   * built-in list and ALLOWED_SERVICE_ACCOUNTS match by the UIDs resolved at
   * start only) or `all-entries` (1.18: all three, as globs).
   */
  readonly allowListByName: 'prefix-names-only' | 'all-entries';
  /** Native sidecars (`dapr.io/enable-native-sidecar`, NATIVE_SIDECAR_ENABLED) exist. */
  readonly nativeSidecars: boolean;
}

export const VERSION_SHAPES: Readonly<Record<DaprdMinor, VersionShape>> = {
  '1.17': {
    probeDefaults: {
      livenessProbeDelaySeconds: 3,
      livenessProbeTimeoutSeconds: 3,
      livenessProbePeriodSeconds: 6,
      livenessProbeThreshold: 3,
      readinessProbeDelaySeconds: 3,
      readinessProbeTimeoutSeconds: 3,
      readinessProbePeriodSeconds: 6,
      readinessProbeThreshold: 3,
    },
    allowListByName: 'prefix-names-only',
    nativeSidecars: false,
  },
  '1.18': {
    probeDefaults: {
      livenessProbeDelaySeconds: 180,
      livenessProbeTimeoutSeconds: 3,
      livenessProbePeriodSeconds: 10,
      livenessProbeThreshold: 5,
      readinessProbeDelaySeconds: 1,
      readinessProbeTimeoutSeconds: 1,
      readinessProbePeriodSeconds: 1,
      readinessProbeThreshold: 5,
    },
    allowListByName: 'all-entries',
    nativeSidecars: true,
  },
};

export function flagSupported(flag: DaprdFlag, minor: DaprdMinor): boolean {
  const since: DaprdMinor | null = DAPRD_FLAG_SINCE[flag];
  return since !== null && compareMinor(since, minor) <= 0;
}


export function annotationSupported(name: AnnotationName, minor: DaprdMinor): boolean {
  if (!(name in ANNOTATION_SINCE)) return true;
  const since = ANNOTATION_SINCE[name];
  return since !== null && since !== undefined && compareMinor(since, minor) <= 0;
}

function compareMinor(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor !== bMajor ? aMajor - bMajor : aMinor - bMinor;
}

/** The daprd version a pod's sidecar will run, and how we know. */
export interface SidecarVersion {
  /** The shape we build: a supported minor. */
  readonly minor: DaprdMinor;
  /** `tag`: the image's semver tag; `hint`: --sidecar-version; `fallback`: neither was usable. */
  readonly source: 'tag' | 'hint' | 'fallback';
  /** The version as read (`1.17.5`), or the tag/image that could not be read. */
  readonly detected: string;
  /** Why the shape is not the detected version's own (unknown, newer or older than supported). */
  readonly fallbackReason?: 'unknown' | 'newer' | 'older';
}

const SEMVER = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+._][0-9A-Za-z.+_-]*)?$/;

/** The tag of an image reference (`repo:tag`, `repo:tag@digest`); undefined for `repo` or `repo@digest`. */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  if (colon < 0) return undefined;
  const tag = withoutDigest.slice(colon + 1);
  return tag === '' ? undefined : tag;
}

/** `1.17.5`, `v1.18.0-rc.1`, `1.17.5-mariner`, `1.18` → `[major, minor]`; undefined otherwise. */
export function parseVersion(text: string): readonly [number, number] | undefined {
  const match = SEMVER.exec(text.trim());
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2])];
}

/** A detected major.minor mapped onto the supported shapes. */
function shapeFor(detected: readonly [number, number]): { minor: DaprdMinor; fallbackReason?: 'newer' | 'older' } {
  const text = `${detected[0]}.${detected[1]}`;
  const known = DAPRD_MINORS.find((minor) => minor === text);
  if (known) return { minor: known };
  // Older daprd lacks flags newer shapes may emit: the oldest shape is the closest.
  return compareMinor(text, OLDEST_MINOR) < 0 ? { minor: OLDEST_MINOR, fallbackReason: 'older' } : { minor: NEWEST_MINOR, fallbackReason: 'newer' };
}

/**
 * The daprd version of a sidecar image: its semver tag; for an image with no
 * usable tag (a digest, `latest`), the `--sidecar-version` hint when the image
 * is the injector's own SIDECAR_IMAGE; else the newest known shape, flagged
 * as a fallback so the caller warns.
 */
export function sidecarVersion(image: string, injectorImage: string, hint: string | undefined): SidecarVersion {
  const tag = imageTag(image);
  const fromTag = tag === undefined ? undefined : parseVersion(tag);
  if (fromTag) return { ...shapeFor(fromTag), source: 'tag', detected: `${tag ?? ''}` };
  const fromHint = hint && image === injectorImage ? parseVersion(hint) : undefined;
  if (fromHint && hint) return { ...shapeFor(fromHint), source: 'hint', detected: hint };
  return { minor: NEWEST_MINOR, source: 'fallback', detected: image, fallbackReason: 'unknown' };
}
