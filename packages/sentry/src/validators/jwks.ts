import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import { TsdaprError } from '@tsdapr/runtime';
import { decodeJwt } from './jwt.js';
import { ValidationError } from './validator.js';

/** A JWKS that cannot be used (bad JSON, no usable key). */
export class JwksError extends TsdaprError {}

export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK's `alg`, when it pins one. */
  readonly alg: string | undefined;
  readonly key: KeyObject;
}

export interface KeySet {
  readonly keys: readonly VerificationKey[];
  /** Keys that were left out, with why (for a log line). */
  readonly skipped: readonly string[];
}

export const SUPPORTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwsAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

const MIN_RSA_BITS = 2048;

/**
 * Parses a JWK Set (`{"keys": [...]}`) or a single JWK, as JSON or as
 * base64 of that JSON (what upstream accepts inline). Public keys of types
 * RSA, EC (P-256/384/521) and OKP (Ed25519/Ed448) are kept; symmetric,
 * encryption-only and malformed keys are skipped. At least one key must remain.
 */
export function parseJwks(text: string): KeySet {
  const json = parseJsonOrBase64(text.trim());
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new JwksError('jwks_invalid', 'the JWKS is not a JSON object');
  const record = json as Record<string, unknown>;
  const entries: unknown[] = Array.isArray(record['keys']) ? (record['keys'] as unknown[]) : 'kty' in record ? [record] : [];
  if (entries.length === 0) throw new JwksError('jwks_invalid', 'the JWKS has no "keys"');
  const keys: VerificationKey[] = [];
  const skipped: string[] = [];
  entries.forEach((entry, index) => {
    const result = importJwk(entry);
    if (typeof result === 'string') skipped.push(`key ${index}: ${result}`);
    else keys.push(result);
  });
  if (keys.length === 0) throw new JwksError('jwks_invalid', `the JWKS has no usable verification key (${skipped.join('; ')})`);
  return { keys, skipped };
}

function parseJsonOrBase64(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: maybe base64 (standard or URL alphabet) of JSON.
  }
  if (/^[A-Za-z0-9+/_-]+=*$/.test(text)) {
    try {
      return JSON.parse(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
    } catch {
      // Fall through to the error below.
    }
  }
  throw new JwksError('jwks_invalid', 'the JWKS is neither JSON nor base64-encoded JSON');
}

const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['kty', 'n', 'e'],
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
};

function importJwk(entry: unknown): VerificationKey | string {
  if (typeof entry !== 'object' || entry === null) return 'not an object';
  const jwk = entry as Record<string, unknown>;
  const kty = jwk['kty'];
  const kid = typeof jwk['kid'] === 'string' ? jwk['kid'] : undefined;
  const label = kid === undefined ? '' : ` (kid "${kid}")`;
  if (typeof kty !== 'string' || !(kty in PUBLIC_MEMBERS)) return `unsupported kty ${JSON.stringify(kty)}${label}`;
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return `use is not "sig"${label}`;
  if (Array.isArray(jwk['key_ops']) && !jwk['key_ops'].includes('verify')) return `key_ops lacks "verify"${label}`;
  const alg = typeof jwk['alg'] === 'string' ? jwk['alg'] : undefined;
  if (alg !== undefined && !(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) return `unsupported alg "${alg}"${label}`;
  // Only the public members: a JWKS that carelessly includes private parts still yields public keys.
  const publicJwk: Record<string, unknown> = {};
  for (const member of PUBLIC_MEMBERS[kty] ?? []) if (jwk[member] !== undefined) publicJwk[member] = jwk[member];
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' });
  } catch (err) {
    return `cannot import${label}: ${(err as Error).message}`;
  }
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    return `RSA key shorter than ${MIN_RSA_BITS} bits${label}`;
  }
  return { kid, alg, key };
}

export interface VerifyJwtOptions {
  /** Now, in milliseconds since the epoch. */
  readonly nowMs: number;
  /** Allowed clock skew for exp/nbf/iat, in milliseconds. */
  readonly skewMs: number;
}

export interface VerifiedJwt {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Verifies a compact JWS (with jose) against the key set and checks its time claims
 * (`exp` required; `nbf`, `iat` when present) with the given skew. The
 * caller checks `aud` and `sub`. With a `kid` in the header only keys with
 * that kid are tried; without one, every key that fits the algorithm. A key
 * whose JWK pins an `alg` is only used for that algorithm.
 */
export async function verifyJwt(token: string, keys: readonly VerificationKey[], options: VerifyJwtOptions): Promise<VerifiedJwt> {
  const jwt = decodeJwt(token);
  const alg = jwt.header['alg'];
  if (typeof alg !== 'string' || !(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new ValidationError(
      'token_algorithm_unsupported',
      `token validation failed: algorithm ${JSON.stringify(alg)} is not supported (supported: ${SUPPORTED_ALGORITHMS.join(', ')})`,
    );
  }
  if (jwt.header['crit'] !== undefined) {
    throw new ValidationError('token_algorithm_unsupported', 'token validation failed: critical header extensions ("crit") are not supported');
  }
  const kid = typeof jwt.header['kid'] === 'string' ? jwt.header['kid'] : undefined;
  const candidates = keys.filter((k) => (kid === undefined || k.kid === kid) && (k.alg === undefined || k.alg === alg) && keyFits(alg as JwsAlgorithm, k.key));
  if (candidates.length === 0) {
    throw new ValidationError(
      'token_key_not_found',
      kid === undefined ? `token validation failed: no key in the JWKS can verify ${alg}` : `token validation failed: no ${alg} key with kid "${kid}" in the JWKS`,
    );
  }
  // Signature (and then the registered claims) with jose; a signature that fails
  // with one candidate is tried with the next.
  let claimError: unknown;
  let verified = false;
  for (const candidate of candidates) {
    try {
      await jwtVerify(token, candidate.key, {
        algorithms: [alg],
        currentDate: new Date(options.nowMs),
        clockTolerance: Math.floor(options.skewMs / 1000),
        requiredClaims: ['exp'],
      });
      verified = true;
      break;
    } catch (err) {
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) continue;
      if (err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTExpired) {
        // The signature held; the claims are reported below with our codes.
        claimError = err;
        verified = true;
        break;
      }
      if (err instanceof joseErrors.JOSEError) continue;
      throw err;
    }
  }
  if (!verified) throw new ValidationError('token_signature_invalid', 'token validation failed: could not verify the signature');
  checkTimes(jwt.payload, options);
  if (claimError) throw new ValidationError('token_malformed', `token validation failed: ${(claimError as Error).message}`);
  return { header: jwt.header, claims: jwt.payload };
}

const CURVE: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

function keyFits(alg: JwsAlgorithm, key: KeyObject): boolean {
  switch (alg) {
    case 'RS256':
    case 'RS384':
    case 'RS512':
      return key.asymmetricKeyType === 'rsa';
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss';
    case 'ES256':
    case 'ES384':
    case 'ES512':
      return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === CURVE[alg];
    case 'EdDSA':
      return key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448';
  }
}

function checkTimes(claims: Readonly<Record<string, unknown>>, { nowMs, skewMs }: VerifyJwtOptions): void {
  const time = (name: string): number | undefined => {
    const value = claims[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ValidationError('token_malformed', `token validation failed: "${name}" is not a number`);
    }
    return value * 1000;
  };
  const exp = time('exp');
  const nbf = time('nbf');
  const iat = time('iat');
  if (exp === undefined) throw new ValidationError('token_malformed', 'token validation failed: the token has no "exp" claim');
  if (nowMs > exp + skewMs) throw new ValidationError('token_expired', 'token validation failed: the token has expired');
  if (nbf !== undefined && nowMs < nbf - skewMs) throw new ValidationError('token_not_yet_valid', 'token validation failed: the token is not valid yet ("nbf")');
  if (iat !== undefined && nowMs < iat - skewMs) throw new ValidationError('token_not_yet_valid', 'token validation failed: the token was issued in the future ("iat")');
}
