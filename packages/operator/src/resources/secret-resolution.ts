import { TsdaprError } from '@tsdapr/runtime';
import type { DaprResource, NameValuePair } from './dapr-resource.js';

/** A Secret's data as the API returns it: base64 strings by key. */
export type SecretData = Readonly<Record<string, string>>;

/** Reads a Secret's data; undefined when the Secret does not exist. */
export type SecretReader = (namespace: string, name: string) => Promise<SecretData | undefined>;

export class SecretResolutionError extends TsdaprError {
  constructor(
    code: 'secret_not_found' | 'secret_read_failed',
    message: string,
    readonly secretName: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Upstream resolves secretKeyRefs only when the resource's secret store is Kubernetes itself. */
export function usesKubernetesSecrets(resource: DaprResource): boolean {
  const store = resource.auth?.secretStore ?? '';
  return store === '' || store === 'kubernetes';
}

async function resolvePairs(pairs: readonly NameValuePair[], namespace: string, read: SecretReader, what: string, encode: (base64: string) => unknown): Promise<NameValuePair[]> {
  const out: NameValuePair[] = [];
  for (const pair of pairs) {
    const ref = pair.secretKeyRef;
    if (!ref?.name) {
      out.push(pair);
      continue;
    }
    let data: SecretData | undefined;
    try {
      data = await read(namespace, ref.name);
    } catch (err) {
      throw new SecretResolutionError('secret_read_failed', `${what}: reading Secret ${namespace}/${ref.name} for "${pair.name}" failed: ${(err as Error).message}`, ref.name, { cause: err });
    }
    if (!data) {
      throw new SecretResolutionError('secret_not_found', `${what}: Secret ${namespace}/${ref.name} referenced by "${pair.name}" does not exist`, ref.name);
    }
    const key = ref.key || ref.name;
    const base64 = data[key];
    // Upstream: a missing key leaves the entry unchanged, without an error.
    out.push(base64 === undefined ? pair : { ...pair, value: encode(base64) });
  }
  return out;
}

/**
 * Inlines `spec.metadata[].secretKeyRef` values of a Component, as upstream
 * does: the value becomes a JSON string holding the standard base64 of the
 * secret bytes (what the Secret's `data` already holds), and daprd decodes
 * it. Secrets are read in the request namespace.
 */
export async function resolveComponentSecrets(component: DaprResource, namespace: string, read: SecretReader): Promise<DaprResource> {
  if (!usesKubernetesSecrets(component)) return component;
  const metadata = component.spec?.['metadata'];
  // Nothing to resolve: the same object, so a change sent to many streams is serialized once.
  if (!Array.isArray(metadata) || !(metadata as NameValuePair[]).some((pair) => pair.secretKeyRef?.name)) return component;
  const what = `component ${namespace}/${component.metadata?.name ?? ''}`;
  const resolved = await resolvePairs(metadata as NameValuePair[], namespace, read, what, (base64) => base64);
  return { ...component, spec: { ...component.spec, metadata: resolved } };
}

interface TlsDocument {
  readonly value?: unknown;
  readonly secretKeyRef?: { readonly name: string; readonly key?: string };
}

/** HTTPEndpoint: `spec.headers[]` and `spec.clientTLS.{rootCA,certificate,privateKey}`. */
export async function resolveHttpEndpointSecrets(endpoint: DaprResource, namespace: string, read: SecretReader): Promise<DaprResource> {
  if (!usesKubernetesSecrets(endpoint)) return endpoint;
  if (!hasEndpointSecretRefs(endpoint)) return endpoint;
  const what = `HTTPEndpoint ${namespace}/${endpoint.metadata?.name ?? ''}`;
  let spec: Record<string, unknown> = { ...endpoint.spec };
  const headers = spec['headers'];
  if (Array.isArray(headers)) spec = { ...spec, headers: await resolvePairs(headers as NameValuePair[], namespace, read, what, (base64) => base64) };
  const clientTLS = spec['clientTLS'] as Record<string, TlsDocument | undefined> | undefined;
  if (clientTLS && typeof clientTLS === 'object') {
    const tls: Record<string, unknown> = { ...clientTLS };
    for (const field of ['rootCA', 'certificate', 'privateKey'] as const) {
      const doc = clientTLS[field];
      if (!doc?.secretKeyRef) continue;
      const [pair] = await resolvePairs([{ name: `clientTLS.${field}`, secretKeyRef: doc.secretKeyRef }], namespace, read, what, (base64) => base64);
      tls[field] = { ...doc, value: pair?.value };
    }
    spec = { ...spec, clientTLS: tls };
  }
  return { ...endpoint, spec };
}

function hasEndpointSecretRefs(endpoint: DaprResource): boolean {
  const headers = endpoint.spec?.['headers'];
  if (Array.isArray(headers) && (headers as NameValuePair[]).some((pair) => pair.secretKeyRef)) return true;
  const clientTLS = endpoint.spec?.['clientTLS'] as Record<string, TlsDocument | undefined> | undefined;
  return !!clientTLS && typeof clientTLS === 'object' && (['rootCA', 'certificate', 'privateKey'] as const).some((field) => clientTLS[field]?.secretKeyRef);
}

/**
 * Configuration: `spec.tracing.otel.headers[].secretKeyRef` (key required)
 * becomes the raw secret value as a JSON string, not base64, as upstream.
 */
export async function resolveConfigurationSecrets(configuration: DaprResource, namespace: string, read: SecretReader): Promise<DaprResource> {
  const tracing = configuration.spec?.['tracing'] as { otel?: { headers?: NameValuePair[] } } | undefined;
  const headers = tracing?.otel?.headers;
  if (!Array.isArray(headers) || !headers.some((h) => h.secretKeyRef)) return configuration;
  const what = `configuration ${namespace}/${configuration.metadata?.name ?? ''}`;
  for (const header of headers) {
    if (header.secretKeyRef && !header.secretKeyRef.key) {
      throw new SecretResolutionError('secret_not_found', `${what}: tracing header "${header.name}" secretKeyRef needs a key`, header.secretKeyRef.name);
    }
  }
  const resolved = await resolvePairs(headers, namespace, read, what, (base64) => Buffer.from(base64, 'base64').toString('utf8'));
  return { ...configuration, spec: { ...configuration.spec, tracing: { ...tracing, otel: { ...tracing?.otel, headers: resolved } } } };
}
