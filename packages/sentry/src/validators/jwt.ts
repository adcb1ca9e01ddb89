import { ValidationError } from './validator.js';

/** A compact JWS split and decoded, not verified. */
export interface DecodedJwt {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `<header>.<payload>` as sent: the bytes the signature covers. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Splits a compact JWS and parses its header and payload as JSON objects.
 * Verifies nothing. Errors say what is wrong without echoing the token.
 */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) {
    throw new ValidationError('token_malformed', `the token is not a JWT (expected 3 dot-separated parts, found ${parts.length})`);
  }
  const [header, payload, signature] = parts as [string, string, string];
  if (!BASE64URL.test(header) || !BASE64URL.test(payload) || !BASE64URL.test(signature)) {
    throw new ValidationError('token_malformed', 'the token is not a JWT (a part is not base64url)');
  }
  return {
    header: jsonObject(header, 'header'),
    payload: jsonObject(payload, 'payload'),
    signingInput: `${header}.${payload}`,
    signature: Buffer.from(signature, 'base64url'),
  };
}

function jsonObject(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch (err) {
    throw new ValidationError('token_malformed', `the token's ${what} is not JSON`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('token_malformed', `the token's ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The private claims of a Kubernetes service-account token that sentry reads. */
export interface KubernetesTokenClaims {
  readonly namespace?: string;
  readonly podName?: string;
  readonly podUid?: string;
  readonly serviceAccountName?: string;
}

/**
 * Reads the `kubernetes.io` claims of a service-account token payload.
 * Bound tokens from a real apiserver carry them nested:
 * `{"kubernetes.io": {"namespace": .., "pod": {"name": .., "uid": ..}, "serviceaccount": {"name": .., "uid": ..}}}`;
 * the flat spelling `"kubernetes.io/pod/name"` (as upstream's error message
 * names the claim) is accepted too. Missing or non-string values are left out.
 */
export function kubernetesTokenClaims(payload: Readonly<Record<string, unknown>>): KubernetesTokenClaims {
  const nested = asRecord(payload['kubernetes.io']);
  const pod = asRecord(nested?.['pod']);
  const serviceAccount = asRecord(nested?.['serviceaccount']);
  const claims: { namespace?: string; podName?: string; podUid?: string; serviceAccountName?: string } = {};
  const set = (key: keyof typeof claims, ...candidates: unknown[]): void => {
    const value = candidates.find((candidate) => typeof candidate === 'string' && candidate !== '');
    if (typeof value === 'string') claims[key] = value;
  };
  set('namespace', nested?.['namespace'], payload['kubernetes.io/namespace']);
  set('podName', pod?.['name'], payload['kubernetes.io/pod/name']);
  set('podUid', pod?.['uid'], payload['kubernetes.io/pod/uid']);
  set('serviceAccountName', serviceAccount?.['name'], payload['kubernetes.io/serviceaccount/name']);
  return claims;
}

function asRecord(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
