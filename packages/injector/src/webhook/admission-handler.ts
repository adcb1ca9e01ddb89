import { errorMessage, type Logger } from '@tsdapr/runtime';
import type { Diagnostic } from '../annotations/diagnostic.js';
import type { AdmissionOutcome, InjectorMetrics } from '../metrics.js';
import type { InjectorSettings } from '../patch/injector-settings.js';
import type { Container } from '../patch/pod-types.js';
import { buildSidecarPatch, enabledGate, isEnabled, podSidecarVersion } from '../patch/sidecar-patch.js';
import type { DaprdMinor } from '../versions/daprd-versions.js';
import { parseAdmissionReview, parsePod, reviewResponse, type AdmissionRequest, type AdmissionResponse, type AdmissionReview } from './admission-review.js';

export interface AdmissionHandlerDeps {
  /** The current settings (trust anchors and the mTLS flag change at run time). */
  readonly settings: () => InjectorSettings;
  /** Upstream's allow-list, with the rules of the daprd version the pod's sidecar will run. */
  readonly isAuthorized: (request: AdmissionRequest, minor: DaprdMinor) => boolean;
  /** Pluggable-component containers declared for an app; none when absent. */
  readonly componentContainers?: (appId: string, namespace: string) => readonly Container[];
  readonly metrics: InjectorMetrics;
  readonly logger: Logger;
}

export interface AdmissionResult {
  /** HTTP status: 200 for every AdmissionReview answered, 400 for a body that is not one. */
  readonly status: number;
  readonly body: object;
  readonly outcome: AdmissionOutcome;
}

/** The API server may truncate longer warnings; keep each one whole by cutting it ourselves. */
const MAX_WARNING_LENGTH = 256;
const MAX_WARNINGS = 20;

/**
 * Answers one AdmissionReview (already parsed from JSON). Upstream's order:
 * a non-Pod kind and a pod without `dapr.io/enabled: "true"` are allowed
 * as they are, so is a pod from a requester that is not allowed to get a
 * sidecar; otherwise the sidecar patch. Deliberate denials refuse the pod;
 * an unexpected error allows it without a patch (failing open, as the
 * webhook's failurePolicy Ignore would), logged and counted.
 */
export function handleAdmissionReview(body: unknown, deps: AdmissionHandlerDeps): AdmissionResult {
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) return { status: 400, body: { error: parsed.error }, outcome: 'bad_request' };
  const { review } = parsed;
  deps.metrics.requests.inc();
  try {
    return decide(review, deps);
  } catch (err) {
    const appId = appIdOf(review.request.object);
    deps.logger.error({ err, uid: review.request.uid, namespace: review.request.namespace, appId }, 'sidecar injection failed unexpectedly; the pod is allowed without a sidecar');
    deps.metrics.failed.inc({ app_id: appId, reason: 'internal' });
    return answer(review, { uid: review.request.uid, allowed: true, warnings: [`dapr: the sidecar injector failed (${truncate(errorMessage(err), 160)}), so this pod gets no daprd sidecar`] }, 'error');
  }
}

function decide(review: AdmissionReview, deps: AdmissionHandlerDeps): AdmissionResult {
  const { request } = review;
  const uid = request.uid;
  const log = deps.logger;

  if (request.kind.kind !== 'Pod') {
    log.error({ uid, kind: request.kind.kind }, 'invalid kind for review');
    deps.metrics.failed.inc({ app_id: '', reason: 'pod_patch' });
    return answer(review, { uid, allowed: true }, 'not_pod');
  }

  const podResult = parsePod(request.object);
  if (!podResult.ok) {
    log.error({ uid, namespace: request.namespace, error: podResult.error }, 'the pod in the AdmissionReview has an unexpected shape');
    deps.metrics.failed.inc({ app_id: '', reason: 'invalid_pod' });
    return answer(review, { uid, allowed: true, warnings: [truncate(`dapr: the sidecar injector could not read this pod (${podResult.error}), so it gets no daprd sidecar`, MAX_WARNING_LENGTH)] }, 'invalid_pod');
  }
  const pod = podResult.pod;
  const annotations = pod.metadata?.annotations ?? {};

  // Non-Dapr pods are allowed without metrics or logs, as upstream does; a
  // pod that only misspells the gate hears about it.
  if (!isEnabled(annotations)) return answer(review, { uid, allowed: true, ...warningsField(enabledGate(annotations), deps) }, 'not_enabled');

  const appId = appIdOf(pod);
  const settings = deps.settings();
  // The sidecar's daprd version decides everything version-specific, the allow-list rules first.
  const version = podSidecarVersion(pod, settings);
  if (!deps.isAuthorized(request, version.minor)) {
    const username = request.userInfo?.username ?? '';
    log.error({ uid, namespace: request.namespace, appId, username }, 'service account not on the list of allowed controller accounts; the pod gets no sidecar');
    deps.metrics.failed.inc({ app_id: appId, reason: 'pod_patch' });
    const warning = `dapr: ${username || 'this requester'} may not create pods with a daprd sidecar (only allow-listed controllers and system:masters; see ALLOWED_SERVICE_ACCOUNTS), so this pod gets none`;
    return answer(review, { uid, allowed: true, warnings: [truncate(warning, MAX_WARNING_LENGTH)] }, 'unauthorized');
  }

  const namespace = request.namespace ?? pod.metadata?.namespace ?? '';
  const result = buildSidecarPatch({
    pod,
    namespace,
    settings,
    version,
    injectedComponentContainers: deps.componentContainers?.(appId, namespace) ?? [],
  });
  if (result.kind !== 'skip' && version.fallbackReason) deps.metrics.sidecarVersionFallbacks.inc({ reason: version.fallbackReason, shape: version.minor });
  switch (result.kind) {
    case 'skip':
      return answer(review, { uid, allowed: true, ...warningsField(result.warnings, deps) }, result.reason);
    case 'deny': {
      log.warn({ uid, namespace, appId: result.appId, denials: result.denials.map((d) => d.code) }, 'pod denied: its Dapr annotations cannot be used');
      deps.metrics.failed.inc({ app_id: result.appId, reason: 'patch' });
      for (const denial of result.denials) deps.metrics.diagnostics.inc({ severity: 'denial', code: denial.code });
      return answer(
        review,
        { uid, allowed: false, status: { code: 400, reason: 'BadRequest', message: `dapr sidecar injector: ${result.message}` }, ...warningsField(result.warnings, deps) },
        'denied',
      );
    }
    case 'patch': {
      log.info({ uid, namespace, appId: result.appId, warnings: result.warnings.length }, 'sidecar injected');
      deps.metrics.succeeded.inc({ app_id: result.appId });
      const patch = Buffer.from(JSON.stringify(result.patch)).toString('base64');
      return answer(review, { uid, allowed: true, patchType: 'JSONPatch', patch, ...warningsField(result.warnings, deps) }, 'injected');
    }
  }
}

function answer(review: AdmissionReview, response: AdmissionResponse, outcome: AdmissionOutcome): AdmissionResult {
  return { status: 200, body: reviewResponse(review.apiVersion, response), outcome };
}

function warningsField(diagnostics: readonly Diagnostic[], deps: AdmissionHandlerDeps): { warnings?: string[] } {
  if (diagnostics.length === 0) return {};
  for (const diagnostic of diagnostics) deps.metrics.diagnostics.inc({ severity: diagnostic.severity, code: diagnostic.code });
  const warnings = diagnostics.slice(0, MAX_WARNINGS).map((d) => truncate(d.message, MAX_WARNING_LENGTH));
  if (diagnostics.length > MAX_WARNINGS) warnings.push(`dapr: ${diagnostics.length - MAX_WARNINGS} more annotation warnings not shown`);
  return { warnings };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** For logs and metric labels only: the app-id annotation, else the pod name (upstream's getAppIDFromRequest). */
function appIdOf(object: unknown): string {
  if (typeof object !== 'object' || object === null) return '';
  const metadata = (object as { metadata?: { annotations?: Record<string, unknown>; name?: unknown } }).metadata;
  const annotated = metadata?.annotations?.['dapr.io/app-id'];
  if (typeof annotated === 'string') return truncate(annotated, 63);
  return typeof metadata?.name === 'string' ? truncate(metadata.name, 63) : '';
}
