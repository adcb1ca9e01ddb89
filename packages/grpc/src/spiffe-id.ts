import { TsdaprError } from '@tsdapr/runtime';

/** `spiffe://<trustDomain>/ns/<namespace>/<id>`, the only shape Dapr uses. */
export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly id: string;
}

export class SpiffeIdError extends TsdaprError {}

export function formatSpiffeId(spiffe: SpiffeId): string {
  return `spiffe://${spiffe.trustDomain}/ns/${spiffe.namespace}/${spiffe.id}`;
}

/** Parses a Dapr SPIFFE ID; anything but `/ns/<ns>/<id>` with non-empty parts is malformed. */
export function parseSpiffeId(text: string): SpiffeId {
  const match = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/([^/]+)$/.exec(text);
  if (!match) throw new SpiffeIdError('spiffe_id_malformed', `malformed SPIFFE ID "${text}": expected spiffe://<trust-domain>/ns/<namespace>/<id>`);
  return { trustDomain: match[1] ?? '', namespace: match[2] ?? '', id: match[3] ?? '' };
}

/** The URI SANs of a certificate as Node prints them (`URI:a, DNS:b`). */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4));
}

/** A Dapr peer presents exactly one URI SAN, a valid SPIFFE ID (go-spiffe's rule). */
export function spiffeIdFromSubjectAltName(subjectAltName: string | undefined): SpiffeId {
  const uris = uriSans(subjectAltName);
  if (uris.length !== 1) {
    throw new SpiffeIdError('spiffe_id_count', `peer certificate must have exactly one URI SAN, found ${uris.length}`);
  }
  return parseSpiffeId(uris[0] ?? '');
}

/** The control-plane identity `spiffe://<td>/ns/<ns>/dapr-<service>`. */
export function controlPlaneSpiffeId(trustDomain: string, namespace: string, service: 'sentry' | 'operator' | 'placement' | 'injector' | 'scheduler'): string {
  return formatSpiffeId({ trustDomain, namespace, id: `dapr-${service}` });
}
