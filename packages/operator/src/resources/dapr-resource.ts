/**
 * The Dapr custom resources as the operator sees them: plain JSON as the API
 * server returns it. Only the fields the operator reads are typed; the rest
 * is carried through untouched to the sidecar.
 */
export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly resourceVersion?: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly [key: string]: unknown;
}

export interface SecretKeyRef {
  readonly name: string;
  readonly key?: string;
}

export interface NameValuePair {
  readonly name: string;
  readonly value?: unknown;
  readonly secretKeyRef?: SecretKeyRef;
  readonly envRef?: string;
}

export interface DaprResource {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
  readonly spec?: Record<string, unknown>;
  readonly auth?: { readonly secretStore?: string };
  readonly scopes?: readonly string[];
  readonly status?: unknown;
}

export type ResourceKind = 'Component' | 'Configuration' | 'Subscription' | 'Resiliency' | 'HTTPEndpoint';

export interface ResourceType {
  readonly kind: ResourceKind;
  readonly plural: string;
  readonly version: string;
}

export const RESOURCE_TYPES: Readonly<Record<ResourceKind, ResourceType>> = {
  Component: { kind: 'Component', plural: 'components', version: 'v1alpha1' },
  Configuration: { kind: 'Configuration', plural: 'configurations', version: 'v1alpha1' },
  // The storage version: what daprd asks for with ListSubscriptionsV2.
  Subscription: { kind: 'Subscription', plural: 'subscriptions', version: 'v2alpha1' },
  Resiliency: { kind: 'Resiliency', plural: 'resiliencies', version: 'v1alpha1' },
  HTTPEndpoint: { kind: 'HTTPEndpoint', plural: 'httpendpoints', version: 'v1alpha1' },
};

export const keyOf = (resource: DaprResource): string => `${resource.metadata?.namespace ?? ''}/${resource.metadata?.name ?? ''}`;

/** Upstream's rule: a resource is for an app when its scopes are empty or name the app. */
export function inScope(resource: DaprResource, appId: string): boolean {
  const scopes = resource.scopes ?? [];
  return scopes.length === 0 || scopes.includes(appId);
}

/**
 * The JSON daprd decodes: the Go struct upstream serializes, so `status` (which
 * upstream's types do not have) is left out and the rest is kept as is.
 */
export function resourcePayload(resource: DaprResource): Buffer {
  const { status: _status, ...rest } = resource;
  return Buffer.from(JSON.stringify(rest));
}
