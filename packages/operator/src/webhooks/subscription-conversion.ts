/**
 * Subscription v1alpha1 <-> v2alpha1, as upstream converts (hub v1alpha1,
 * storage v2alpha1): v1 `spec.route` becomes `spec.routes.default`; v2 -> v1
 * keeps only `routes.default`, as `route` (rules are lost, as upstream).
 */
type Obj = Record<string, unknown>;

export const SUBSCRIPTION_VERSIONS = ['dapr.io/v1alpha1', 'dapr.io/v2alpha1'] as const;
export type SubscriptionVersion = (typeof SUBSCRIPTION_VERSIONS)[number];

export function convertSubscription(object: Obj, desiredApiVersion: SubscriptionVersion): Obj {
  if (object['apiVersion'] === desiredApiVersion) return object;
  const spec = { ...((object['spec'] as Obj | undefined) ?? {}) };
  if (desiredApiVersion === 'dapr.io/v2alpha1') {
    const route = spec['route'];
    delete spec['route'];
    return { ...object, apiVersion: desiredApiVersion, spec: { ...spec, routes: typeof route === 'string' && route !== '' ? { default: route } : {} } };
  }
  const routes = (spec['routes'] as { default?: unknown } | undefined) ?? {};
  delete spec['routes'];
  return { ...object, apiVersion: desiredApiVersion, spec: { ...spec, route: typeof routes.default === 'string' ? routes.default : '' } };
}

/** A `apiextensions.k8s.io/v1` ConversionReview answered. */
export function handleConversionReview(review: unknown): Obj {
  const request = (review as { request?: { uid?: string; desiredAPIVersion?: string; objects?: Obj[] } } | undefined)?.request;
  const uid = request?.uid ?? '';
  const base = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview' };
  const desired = request?.desiredAPIVersion;
  if (!request || !SUBSCRIPTION_VERSIONS.includes(desired as SubscriptionVersion)) {
    return { ...base, response: { uid, result: { status: 'Failure', message: `cannot convert to "${String(desired)}": only ${SUBSCRIPTION_VERSIONS.join(' and ')} Subscriptions are converted` } } };
  }
  try {
    const convertedObjects = (request.objects ?? []).map((object) => {
      if (object['kind'] !== 'Subscription') throw new Error(`cannot convert a ${String(object['kind'])}: only Subscriptions`);
      return convertSubscription(object, desired as SubscriptionVersion);
    });
    return { ...base, response: { uid, convertedObjects, result: { status: 'Success' } } };
  } catch (err) {
    return { ...base, response: { uid, result: { status: 'Failure', message: (err as Error).message } } };
  }
}
