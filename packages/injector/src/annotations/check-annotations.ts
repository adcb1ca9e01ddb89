import { ANNOTATIONS, APP_PROTOCOLS, LOG_LEVELS, SECCOMP_PROFILE_TYPES, type AnnotationName } from './annotation-table.js';
import { denial, quote, warning, type Diagnostic } from './diagnostic.js';
import type { ParsedAnnotations } from './parse-annotations.js';
import { analyseQuantity, editDistance, isGoDuration } from './value-parsers.js';

/** Fixed ports of the daprd container (upstream's SidecarHTTPPort and SidecarPublicPort). */
export const SIDECAR_HTTP_PORT = 3500;
export const SIDECAR_PUBLIC_PORT = 3501;

/** What the checks need to know about the pod and the cluster beyond its annotations. */
export interface AnnotationCheckContext {
  /** `metadata.name`; empty when the pod is created from `generateName` (as controllers do). */
  readonly podName: string;
  readonly generateName: string;
  /** The pod has an owner reference with `controller: true` (ReplicaSet, StatefulSet, Job, ...). */
  readonly ownedByController: boolean;
  /** The injector-wide default for native sidecars (chart `nativeSidecar`). */
  readonly nativeSidecarDefault: boolean;
  /** False when the API server is known to be too old for native sidecars (before 1.29). */
  readonly nativeSidecarsSupported: boolean;
}

export interface CheckedAnnotations {
  /** The app id the sidecar gets: the annotation, or the pod name. Empty when there is none. */
  readonly appId: string;
  readonly nativeSidecar: boolean;
  readonly diagnostics: readonly Diagnostic[];
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Checks that need more than one value at a time, or the pod. Denials are
 * for values upstream would pass on to a sidecar (or a pod spec) that cannot
 * work: daprd exiting on an unknown protocol or log level, ports that
 * collide, a spec the API server would reject with a less helpful message.
 */
export function checkAnnotations(parsed: ParsedAnnotations, context: AnnotationCheckContext): CheckedAnnotations {
  const { values, present } = parsed;
  const out: Diagnostic[] = [];
  const has = (name: AnnotationName): boolean => present.has(name);

  // App id: the annotation, else the pod name (upstream's GetAppID).
  const appId = values.appId !== '' ? values.appId : context.podName;
  const appIdKey = ANNOTATIONS.appId.key;
  if (values.appId === '') {
    if (context.podName === '') {
      const from = context.generateName ? ` (it is created from generateName ${quote(context.generateName)})` : '';
      out.push(
        denial(
          'missing_app_id',
          appIdKey,
          `${appIdKey} is not set and the pod has no name yet${from}, so there is no app id for the sidecar: add ${appIdKey} to the pod template's annotations`,
        ),
      );
    } else if (context.ownedByController) {
      out.push(
        warning(
          'missing_app_id',
          appIdKey,
          `${appIdKey} is not set: the app id defaults to the pod name ${quote(context.podName)}, which differs for every replica; set ${appIdKey}`,
        ),
      );
    } else {
      out.push(warning('missing_app_id', appIdKey, `${appIdKey} is not set: the app id defaults to the pod name ${quote(context.podName)}; set ${appIdKey} to choose it`));
    }
  }
  if (appId !== '') {
    const service = `${appId}-dapr`;
    if (service.length > 63 || !DNS1123_LABEL.test(service)) {
      out.push(
        denial(
          'invalid_app_id',
          appIdKey,
          `invalid app id ${quote(appId)}${values.appId === '' ? ' (from the pod name)' : ` in ${appIdKey}`}: "<app-id>-dapr" must be a DNS-1123 label, so use at most 58 lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. "my-app")`,
        ),
      );
    }
  }

  // Protocol and log level: daprd exits at start on any other value.
  const protocol = values.appProtocol.toLowerCase();
  if (!(APP_PROTOCOLS as readonly string[]).includes(protocol)) {
    const key = ANNOTATIONS.appProtocol.key;
    out.push(denial('invalid_protocol', key, `${key}: ${quote(values.appProtocol)} is not an app protocol daprd accepts${didYouMean(protocol, APP_PROTOCOLS)}; use one of ${APP_PROTOCOLS.join(', ')}`));
  }
  if (!(LOG_LEVELS as readonly string[]).includes(values.logLevel.toLowerCase())) {
    const key = ANNOTATIONS.logLevel.key;
    out.push(denial('invalid_log_level', key, `${key}: ${quote(values.logLevel)} is not a log level daprd accepts${didYouMean(values.logLevel.toLowerCase(), LOG_LEVELS)}; use one of ${LOG_LEVELS.join(', ')}`));
  }
  if (has('appSsl') && values.appSsl) {
    out.push(warning('deprecated_annotation', ANNOTATIONS.appSsl.key, `${ANNOTATIONS.appSsl.key} is deprecated: set ${ANNOTATIONS.appProtocol.key} to "https" or "grpcs" instead`));
  }
  if (has('config') && values.config === '') {
    const key = ANNOTATIONS.config.key;
    out.push(denial('empty_config', key, `${key} is present but empty, so Sentry refuses the sidecar's certificate: remove the annotation or name a Configuration`));
  }

  out.push(...checkPorts(parsed));
  out.push(...checkResources(parsed));

  for (const name of ['blockShutdownDuration', 'actorsDisseminateTimeout'] as const) {
    const value = values[name];
    if (value !== undefined && !isGoDuration(value)) {
      const key = ANNOTATIONS[name].key;
      out.push(denial('invalid_duration', key, `${key}: ${quote(value)} is not a duration, and daprd would exit at start; write it like "30s", "1m30s" or "500ms"`));
    }
  }

  for (const name of PROBE_SETTINGS) {
    if (values[name] < 0) {
      const key = ANNOTATIONS[name].key;
      out.push(denial('invalid_probe', key, `${key}: ${values[name]} is negative, which Kubernetes rejects; use 0 or more`));
    }
  }

  if (values.seccompProfileType !== '') {
    const key = ANNOTATIONS.seccompProfileType.key;
    if (!(SECCOMP_PROFILE_TYPES as readonly string[]).includes(values.seccompProfileType)) {
      out.push(denial('invalid_seccomp_profile', key, `${key}: ${quote(values.seccompProfileType)} is not a seccomp profile type; use RuntimeDefault or Unconfined`));
    } else if (values.seccompProfileType === 'Localhost') {
      out.push(denial('invalid_seccomp_profile', key, `${key}: "Localhost" needs a localhostProfile, which the injector cannot set; use RuntimeDefault or Unconfined`));
    }
  }

  const nativeSidecar = values.enableNativeSidecar ?? context.nativeSidecarDefault;
  if (nativeSidecar && !context.nativeSidecarsSupported) {
    const key = ANNOTATIONS.enableNativeSidecar.key;
    const why = has('enableNativeSidecar') ? `${key} is set` : 'native sidecars are enabled for the injector (chart value nativeSidecar)';
    out.push(
      denial(
        'native_sidecar_unsupported',
        key,
        `${why}, but this API server is older than Kubernetes 1.29 and does not run init containers with restartPolicy Always as sidecars: set ${key} to "false"`,
      ),
    );
  }

  return { appId, nativeSidecar, diagnostics: out };
}

const PROBE_SETTINGS = [
  'livenessProbeDelaySeconds',
  'livenessProbeTimeoutSeconds',
  'livenessProbePeriodSeconds',
  'livenessProbeThreshold',
  'readinessProbeDelaySeconds',
  'readinessProbeTimeoutSeconds',
  'readinessProbePeriodSeconds',
  'readinessProbeThreshold',
] as const satisfies readonly AnnotationName[];

function checkPorts(parsed: ParsedAnnotations): Diagnostic[] {
  const { values, present, invalid } = parsed;
  const out: Diagnostic[] = [];

  const appKey = ANNOTATIONS.appPort.key;
  if (present.has('appPort') && !invalid.has('appPort')) {
    if (values.appPort > 65535) {
      out.push(denial('invalid_port', appKey, `${appKey}: ${values.appPort} is not a port number; use 1 to 65535`));
    } else if (values.appPort <= 0) {
      out.push(warning('invalid_port', appKey, `${appKey}: ${values.appPort} is not a port, so daprd gets no app port and never calls the app; use 1 to 65535 or remove it`));
    }
  }

  // The ports daprd listens on, by the annotation that sets each.
  const listening: [string, number][] = [
    ['the sidecar HTTP port', SIDECAR_HTTP_PORT],
    ['the sidecar public port', SIDECAR_PUBLIC_PORT],
    [ANNOTATIONS.grpcPort.key, values.grpcPort],
    [ANNOTATIONS.internalGrpcPort.key, values.internalGrpcPort],
  ];
  // The metrics port is a container port even with metrics off, as upstream builds it.
  listening.push([ANNOTATIONS.metricsPort.key, values.metricsPort]);
  if (values.enableDebug) listening.push([ANNOTATIONS.debugPort.key, values.debugPort]);

  for (const [key, port] of listening.slice(2)) {
    if (port < 1 || port > 65535) out.push(denial('invalid_port', key, `${key}: ${port} is not a port number; use 1 to 65535`));
  }
  const seen = new Map<number, string>();
  for (const [key, port] of listening) {
    const other = seen.get(port);
    if (other !== undefined) {
      out.push(denial('port_conflict', key, `${key}: port ${port} is already used by ${other} in the daprd container; choose another port`));
    } else {
      seen.set(port, key);
    }
  }
  if (values.appPort > 0) {
    const other = seen.get(values.appPort);
    if (other !== undefined) {
      out.push(denial('port_conflict', appKey, `${appKey}: port ${values.appPort} is also ${other}, and the app and daprd share the pod's network; move one of them`));
    }
  }
  return out;
}

const RESOURCE_ANNOTATIONS = [
  ['cpuRequest', 'cpuLimit', 'CPU'],
  ['memoryRequest', 'memoryLimit', 'memory'],
] as const;

function checkResources(parsed: ParsedAnnotations): Diagnostic[] {
  const { values } = parsed;
  const out: Diagnostic[] = [];
  for (const [requestName, limitName, what] of RESOURCE_ANNOTATIONS) {
    const amounts: (number | undefined)[] = [];
    for (const name of [requestName, limitName]) {
      const raw = values[name];
      if (raw === '') {
        amounts.push(undefined);
        continue;
      }
      const key = ANNOTATIONS[name].key;
      const parsed = analyseQuantity(raw);
      const amount = 'amount' in parsed ? parsed.amount : undefined;
      amounts.push(amount);
      if ('problem' in parsed) {
        out.push(
          warning(
            'invalid_quantity',
            key,
            `${key}: ${quote(raw)} is not a Kubernetes quantity, so the sidecar gets no resource requests or limits at all: ${parsed.problem}; write e.g. ${what === 'CPU' ? '"250m" or "1"' : '"128Mi" or "1Gi"'}`,
          ),
        );
      } else if (!parsed.digits) {
        // Kubernetes (and upstream's injector) read "-", "." or "Mi" as 0.
        out.push(warning('invalid_quantity', key, `${key}: ${quote(raw)} has no digits, which Kubernetes reads as 0; write e.g. ${what === 'CPU' ? '"250m" or "1"' : '"128Mi" or "1Gi"'}`));
      } else if (amount !== undefined && amount < 0) {
        out.push(denial('invalid_quantity', key, `${key}: ${quote(raw)} is negative, which Kubernetes rejects; use a positive quantity`));
      }
    }
    const [request, limit] = amounts;
    if (request !== undefined && limit !== undefined && request >= 0 && limit >= 0 && request > limit) {
      const key = ANNOTATIONS[requestName].key;
      out.push(
        denial('invalid_resources', key, `${key} (${quote(values[requestName])}) is more than ${ANNOTATIONS[limitName].key} (${quote(values[limitName])}), which Kubernetes rejects; lower the request or raise the limit`),
      );
    }
  }
  return out;
}

function didYouMean(value: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(value, candidate, 2);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}
