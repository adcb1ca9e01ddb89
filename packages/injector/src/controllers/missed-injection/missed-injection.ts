import { ANNOTATIONS } from '../../annotations/annotation-table.js';
import type { Pod } from '../../patch/pod-types.js';
import { hasSidecar, isEnabled } from '../../patch/sidecar-patch.js';

export const MISSED_INJECTION_REASON = 'DaprSidecarMissing';

/**
 * A pod that asked for a sidecar and has none: `dapr.io/enabled: "true"`
 * without a `daprd` container or init container. With failurePolicy Ignore
 * this is what a pod created while the webhook was down looks like (as is
 * one created by a requester that may not get a sidecar). Pods being deleted
 * are left alone.
 */
export function missedInjection(pod: Pod): boolean {
  if ((pod.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp) return false;
  return isEnabled(pod.metadata?.annotations ?? {}) && !hasSidecar(pod);
}

/** The Event message: what happened, the likely causes, and what to do. */
export function missedInjectionMessage(pod: Pod): string {
  const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller === true);
  const fix = owner ? `delete the pod so that its ${String(owner.kind)} recreates it` : 'recreate the pod';
  return `pod has ${ANNOTATIONS.enabled.key}: "true" but no daprd sidecar: the sidecar injector was unavailable when it was created (webhook failurePolicy Ignore) or its creator is not an allowed service account; ${fix} once the injector is ready`;
}
