// Follows upstream's checks closely: dapr/dapr:pkg/sentry/server/validator/kubernetes/kubernetes.go@v1.17.5 (Apache-2.0, The Dapr Authors; see NOTICE). No code is copied.
import type { V1Pod } from '@kubernetes/client-node';
import { DEFAULT_TRUST_DOMAIN, checkTrustDomain } from './common.js';
import { ValidationError } from './validator.js';

/**
 * The pure rules of the Kubernetes validator (spec 2.3): what a pod's
 * annotations and service account say about the identity it may have. The
 * I/O around them (TokenReview, pod and Configuration lookups) is in
 * kubernetes-validator.ts.
 */

export const ANNOTATION_APP_ID = 'dapr.io/app-id';
export const ANNOTATION_CONFIG = 'dapr.io/config';
export const ANNOTATION_CONTROL_PLANE = 'dapr.io/control-plane';

/** The audience clients used before 1.13; still accepted next to the sentry SPIFFE ID. */
export const LEGACY_SENTRY_AUDIENCE = 'dapr.io/sentry';

export const CONTROL_PLANE_SERVICES = ['operator', 'placement', 'injector', 'sentry', 'scheduler'] as const;

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/** `system:serviceaccount:<ns>:<name>`: exactly four colon-separated parts starting with `system`. */
export function parseServiceAccountUsername(username: string): ServiceAccountRef {
  const parts = username.split(':');
  if (parts.length !== 4 || parts[0] !== 'system' || !parts[2] || !parts[3]) {
    throw new ValidationError('token_bad_username', 'provided token is not a properly structured service account token');
  }
  return { namespace: parts[2], name: parts[3] };
}

export interface ExpectedIdentity {
  readonly id: string;
  /** A control-plane pod gets the control-plane trust domain; an app pod's comes from its Configuration. */
  readonly controlPlane: boolean;
}

/**
 * The id a pod may request: `dapr-<name>` for a control-plane pod
 * (`dapr.io/control-plane: <name>`, only in sentry's namespace, only the
 * known services, never together with `dapr.io/app-id`), otherwise its
 * `dapr.io/app-id` annotation, or its name when it has none.
 */
export function expectedPodIdentity(pod: V1Pod, sentryNamespace: string): ExpectedIdentity {
  const annotations = pod.metadata?.annotations ?? {};
  const podName = pod.metadata?.name ?? '';
  const controlPlane = annotations[ANNOTATION_CONTROL_PLANE];
  const appId = annotations[ANNOTATION_APP_ID];
  if (controlPlane !== undefined) {
    const namespace = pod.metadata?.namespace ?? '';
    if (namespace !== sentryNamespace) {
      throw new ValidationError('control_plane_pod_invalid', `control plane service in namespace '${namespace}' is not allowed`);
    }
    if (!(CONTROL_PLANE_SERVICES as readonly string[]).includes(controlPlane)) {
      throw new ValidationError('control_plane_pod_invalid', `unknown control plane service '${controlPlane}' (pod '${podName}')`);
    }
    if (appId !== undefined) {
      throw new ValidationError('control_plane_pod_invalid', `control plane service '${podName}' cannot have annotation '${ANNOTATION_APP_ID}'`);
    }
    return { id: `dapr-${controlPlane}`, controlPlane: true };
  }
  return { id: appId ?? podName, controlPlane: false };
}

export function checkExpectedId(expected: string, requested: string): void {
  if (expected !== requested) {
    throw new ValidationError('app_id_mismatch', `app-id mismatch. expected: ${expected}, received: ${requested}`);
  }
}

/**
 * The Configuration an app pod names in `dapr.io/config`, or undefined when
 * it has no such annotation (trust domain `public`). A present but empty
 * annotation is an error, as upstream (issue #8320) but with a message that
 * says which annotation and how to fix it.
 */
export function configurationName(pod: V1Pod): string | undefined {
  const annotations = pod.metadata?.annotations ?? {};
  if (!(ANNOTATION_CONFIG in annotations)) return undefined;
  const name = (annotations[ANNOTATION_CONFIG] ?? '').trim();
  if (name === '') {
    const where = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    throw new ValidationError(
      'configuration_annotation_empty',
      `failed to get configuration: pod ${where} has an empty "${ANNOTATION_CONFIG}" annotation. ` +
        `Set it to the name of a Configuration in namespace "${pod.metadata?.namespace ?? ''}", ` +
        `or remove the annotation to use the default trust domain "${DEFAULT_TRUST_DOMAIN}"; then recreate the pod`,
    );
  }
  return name;
}

/** A dapr.io/v1alpha1 Configuration, reduced to what sentry reads. */
export interface ConfigurationObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { accessControl?: { trustDomain?: unknown } };
}

/** `spec.accessControl.trustDomain`, or `public` when unset or empty. */
export function trustDomainFromConfiguration(config: ConfigurationObject): string {
  const value = config.spec?.accessControl?.trustDomain;
  if (value === undefined || value === null || value === '') return DEFAULT_TRUST_DOMAIN;
  const where = `Configuration ${config.metadata?.namespace ?? ''}/${config.metadata?.name ?? ''} spec.accessControl.trustDomain`;
  if (typeof value !== 'string') throw new ValidationError('trust_domain_invalid', `${where} is not a string`);
  return checkTrustDomain(value, where);
}
