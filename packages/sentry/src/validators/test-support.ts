import { generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';
import type { SignRequestIdentity } from './validator.js';

/** Test fixtures for the validators (not exported from the package). */

export function request(overrides: Partial<SignRequestIdentity> = {}): SignRequestIdentity {
  return { id: 'app-1', namespace: 'default', token: '', trustDomain: '', tokenValidator: 'UNKNOWN', ...overrides };
}

export type TestAlg = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

export interface TestKey {
  readonly alg: TestAlg;
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public JWK with kid (and alg unless `pinAlg` was false). */
  readonly jwk: Record<string, unknown>;
}

export function testKey(alg: TestAlg, kid: string, opts: { pinAlg?: boolean } = {}): TestKey {
  const pair =
    alg === 'RS256' || alg === 'PS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : alg === 'ES384'
          ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
          : generateKeyPairSync('ed25519');
  const jwk: Record<string, unknown> = { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig' };
  if (opts.pinAlg !== false) jwk['alg'] = alg;
  return { alg, kid, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs a compact JWS with node:crypto. `header` overrides the default header (alg, kid, typ). */
export function signJwt(key: TestKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })}.${b64(claims)}`;
  const data = Buffer.from(input);
  let signature: Buffer;
  switch (key.alg) {
    case 'RS256':
      signature = sign('sha256', data, key.privateKey);
      break;
    case 'PS256':
      signature = sign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      break;
    case 'ES256':
      signature = sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'ES384':
      signature = sign('sha384', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'EdDSA':
      signature = sign(null, data, key.privateKey);
      break;
  }
  return `${input}.${signature.toString('base64url')}`;
}

/** An unsigned JWT-shaped token (what a test needs to exercise claim parsing). */
export function unsignedJwt(claims: Record<string, unknown>): string {
  return `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.${Buffer.from('sig').toString('base64url')}`;
}
