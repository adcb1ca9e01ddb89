import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { TsdaprError } from '@tsdapr/runtime';
import type { JwtSigningAlgorithm } from '../options.js';

/** A JWT signing key or JWKS that cannot be used; the message says what to fix. */
export class JwtBundleError extends TsdaprError {}

/** The two stored JWT entries, as upstream writes them: a PKCS#8 PEM key and a JWKS JSON document. */
export interface JwtBundlePem {
  readonly signingKeyPem: string;
  readonly jwksJson: string;
}

export interface JwtRequest {
  /** `sub`: the SPIFFE ID of the X.509 SVID issued with it. */
  readonly subject: string;
  /** `aud`, in order; the trust domain first (upstream pkg/sentry/server/server.go). */
  readonly audiences: readonly string[];
  readonly now: Date;
  readonly ttlMs: number;
  readonly allowedClockSkewMs: number;
}

export interface JwtIssuer {
  readonly kid: string;
  readonly algorithm: JwtSigningAlgorithm;
  /** The JWKS as stored (and served by the OIDC server, byte for byte). */
  readonly jwksJson: string;
  sign(request: JwtRequest): Promise<string>;
}

const RSA_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
const EC_CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/**
 * A new signing key for `algorithm` and the JWKS publishing it. Upstream
 * (pkg/sentry/server/ca/ca.go) always generates RSA-2048 and forces RS256;
 * here the key fits the configured algorithm (RSA-2048, the curve of ES*, or
 * Ed25519), so `--jwt-signing-algorithm ES256` works without a supplied key.
 * The JWK carries kid (the thumbprint rule), alg and use "sig", as upstream's
 * GenerateJWT (pkg/sentry/server/ca/bundle/bundle.go).
 */
export async function generateJwtBundle(algorithm: JwtSigningAlgorithm): Promise<JwtBundlePem> {
  const { privateKey } = RSA_ALGORITHMS.has(algorithm)
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : algorithm === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: EC_CURVES[algorithm] ?? 'prime256v1' });
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  const jwk = { ...publicJwk, kid: await thumbprintKeyId(publicJwk), alg: algorithm, use: 'sig' };
  return {
    signingKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    jwksJson: JSON.stringify({ keys: [jwk] }),
  };
}

/** Upstream's key id: standard base64 (with padding) of the RFC 7638 SHA-256 JWK thumbprint. */
export async function thumbprintKeyId(publicJwk: JWK): Promise<string> {
  return Buffer.from(await calculateJwkThumbprint(publicJwk, 'sha256'), 'base64url').toString('base64');
}

/** Whether `key` can sign with `algorithm` (upstream validateKeyAlgorithmCompatibility). */
function keyFitsAlgorithm(key: KeyObject, algorithm: JwtSigningAlgorithm): boolean {
  if (RSA_ALGORITHMS.has(algorithm)) return key.asymmetricKeyType === 'rsa' || (algorithm.startsWith('PS') && key.asymmetricKeyType === 'rsa-pss');
  if (algorithm === 'EdDSA') return key.asymmetricKeyType === 'ed25519';
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[algorithm];
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  return [key.asymmetricKeyType, details?.namedCurve, details?.modulusLength ? `${details.modulusLength} bits` : undefined].filter(Boolean).join(' ');
}

/**
 * Loads the stored key and JWKS into an issuer, checking what upstream checks
 * (pkg/sentry/server/ca/validate.go verifyJWKS) before anything is signed:
 * the key parses and fits the algorithm, the JWKS parses and holds at least
 * one key, and one of its keys is the signing key's public key (with
 * `--jwt-key-id`: the key with that kid is). The kid used is `--jwt-key-id`,
 * else the thumbprint rule. Other keys in the JWKS are kept: they are the
 * previous (or next) keys of a rotation.
 */
export async function loadJwtIssuer(
  stored: JwtBundlePem,
  options: { readonly algorithm: JwtSigningAlgorithm; readonly keyId: string | undefined; readonly issuer: string | undefined; readonly where: { key: string; jwks: string } },
): Promise<JwtIssuer> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(stored.signingKeyPem);
  } catch (err) {
    throw new JwtBundleError('jwt_key_invalid', `${options.where.key} is not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
  if (!keyFitsAlgorithm(privateKey, options.algorithm)) {
    throw new JwtBundleError('jwt_key_algorithm_mismatch', `JWT signing key is incompatible with algorithm ${options.algorithm}: ${options.where.key} holds a ${describeKey(privateKey)} key`);
  }
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  const ownThumbprint = await calculateJwkThumbprint(publicJwk, 'sha256');
  const keys = parseJwksKeys(stored.jwksJson, options.where.jwks);
  const thumbprints = await Promise.all(keys.map(async (jwk) => (await calculateJwkThumbprint(jwk, 'sha256').catch(() => undefined)) ?? '')); // A malformed entry matches nothing.
  const kid = options.keyId ?? (await thumbprintKeyId(publicJwk));
  if (options.keyId !== undefined) {
    const withKid = keys.map((jwk, i) => ({ jwk, i })).filter(({ jwk }) => jwk.kid === options.keyId);
    if (withKid.length === 0) throw new JwtBundleError('jwks_mismatch', `${options.where.jwks} doesn't contain a key with user-provided key ID "${options.keyId}"`);
    if (!withKid.some(({ i }) => thumbprints[i] === ownThumbprint)) {
      throw new JwtBundleError('jwks_mismatch', `${options.where.jwks} contains a key with user-provided key ID "${options.keyId}" but the key content doesn't match the signing key ${options.where.key}`);
    }
  } else {
    const match = keys.findIndex((_, i) => thumbprints[i] === ownThumbprint);
    if (match < 0) throw new JwtBundleError('jwks_mismatch', `${options.where.jwks} doesn't contain the public key of the JWT signing key ${options.where.key} (kid "${kid}"); add it to the JWKS before using the key`);
    const listedKid = keys[match]?.kid;
    if (listedKid !== undefined && listedKid !== kid) {
      throw new JwtBundleError('jwks_mismatch', `${options.where.jwks} lists the signing key under kid "${listedKid}" but tokens would carry kid "${kid}"; set --jwt-key-id "${listedKid}" or fix the JWKS`);
    }
  }
  return {
    kid,
    algorithm: options.algorithm,
    jwksJson: stored.jwksJson,
    async sign(request) {
      if (request.audiences.length === 0) throw new JwtBundleError('jwt_audience_empty', 'audience cannot be empty');
      const nowSeconds = Math.floor(request.now.getTime() / 1000);
      // Claims as upstream's pkg/sentry/server/ca/jwt/jwt.go Generate builds them.
      const jwt = new SignJWT({ use: 'sig' })
        .setProtectedHeader({ alg: options.algorithm, kid, typ: 'JWT' })
        .setJti(randomBytes(16).toString('hex'))
        .setSubject(request.subject)
        .setIssuedAt(nowSeconds)
        .setAudience([...request.audiences])
        .setNotBefore(Math.floor((request.now.getTime() - request.allowedClockSkewMs) / 1000))
        .setExpirationTime(Math.floor((request.now.getTime() + request.ttlMs) / 1000));
      if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
      return jwt.sign(privateKey);
    },
  };
}

function parseJwksKeys(jwksJson: string, where: string): JWK[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwksJson);
  } catch (err) {
    throw new JwtBundleError('jwks_invalid', `failed to parse JWKS ${where}: ${(err as Error).message}`, { cause: err });
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new JwtBundleError('jwks_invalid', `failed to parse JWKS ${where}: no "keys" array`);
  if (keys.length === 0) throw new JwtBundleError('jwks_invalid', `JWKS ${where} doesn't contain any keys`);
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || typeof (key as JWK).kty !== 'string') throw new JwtBundleError('jwks_invalid', `JWKS ${where}: key ${i} is not a JWK`);
    if ('d' in key || (key as JWK).kty === 'oct') throw new JwtBundleError('jwks_invalid', `JWKS ${where}: key ${i} holds private or symmetric key material; publish public keys only`);
  }
  return keys as JWK[];
}
