import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { parseJwks, verifyJwt } from './jwks.js';
import { signJwt, testKey, type TestAlg } from './test-support.js';
import { ValidationError } from './validator.js';

const NOW = 1_750_000_000_000;
const opts = { nowMs: NOW, skewMs: 5 * 60_000 };
const seconds = (ms: number): number => Math.floor(ms / 1000);
const validClaims = { sub: 'spiffe://public/ns/default/app', aud: 'x', exp: seconds(NOW) + 600, iat: seconds(NOW) };

const codeOf = async (fn: () => Promise<unknown>): Promise<string | undefined> => {
  try {
    await fn();
    return undefined;
  } catch (err) {
    return err instanceof ValidationError ? err.code : `other: ${(err as Error).message}`;
  }
};

test('verifies RS256, PS256, ES256, ES384 and EdDSA tokens', async () => {
  for (const alg of ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as TestAlg[]) {
    const key = testKey(alg, `k-${alg}`);
    const set = parseJwks(JSON.stringify({ keys: [key.jwk] }));
    const verified = await verifyJwt(signJwt(key, validClaims), set.keys, opts);
    assert.equal(verified.claims['sub'], validClaims.sub, alg);
  }
});

test('signature, key selection and algorithm failures', async () => {
  const rsa = testKey('RS256', 'rsa');
  const ec = testKey('ES256', 'ec');
  const other = testKey('RS256', 'rsa');
  const set = parseJwks(JSON.stringify({ keys: [rsa.jwk, ec.jwk] })).keys;
  const token = signJwt(rsa, validClaims);
  const [h, p, s] = token.split('.') as [string, string, string];
  const tamperedPayload = Buffer.from(JSON.stringify({ ...validClaims, sub: 'spiffe://public/ns/default/admin' })).toString('base64url');
  const cases: Array<[string, string, string]> = [
    ['signed by another key with the same kid', signJwt(other, validClaims), 'token_signature_invalid'],
    ['tampered payload', `${h}.${tamperedPayload}.${s}`, 'token_signature_invalid'],
    ['truncated signature', `${h}.${p}.${s.slice(0, 20)}`, 'token_signature_invalid'],
    ['unknown kid', signJwt(rsa, validClaims, { kid: 'nope' }), 'token_key_not_found'],
    ['alg none', signJwt(rsa, validClaims, { alg: 'none' }), 'token_algorithm_unsupported'],
    ['HS256', signJwt(rsa, validClaims, { alg: 'HS256' }), 'token_algorithm_unsupported'],
    ['alg does not fit the kid key', signJwt(rsa, validClaims, { alg: 'ES256' }), 'token_key_not_found'],
    ['crit header', signJwt(rsa, validClaims, { crit: ['b64'] }), 'token_algorithm_unsupported'],
    ['not a JWT', 'abc', 'token_malformed'],
  ];
  for (const [name, input, want] of cases) assert.equal(await codeOf(() => verifyJwt(input, set, opts)), want, name);
});

test('a token without kid is tried against every key that fits its algorithm', async () => {
  const a = testKey('ES256', 'a');
  const b = testKey('ES256', 'b');
  const set = parseJwks(JSON.stringify({ keys: [a.jwk, b.jwk] })).keys;
  await assert.doesNotReject(verifyJwt(signJwt(b, validClaims, { kid: undefined }), set, opts));
});

test('a JWK that pins alg is not used for another algorithm (RS256 key, PS256 token)', async () => {
  const rs = testKey('RS256', 'k');
  const token = signJwt({ ...rs, alg: 'PS256' }, validClaims, { alg: 'PS256' });
  assert.equal(await codeOf(() => verifyJwt(token, parseJwks(JSON.stringify({ keys: [rs.jwk] })).keys, opts)), 'token_key_not_found');
  const unpinned = testKey('RS256', 'k', { pinAlg: false });
  const token2 = signJwt({ ...unpinned, alg: 'PS256' }, validClaims, { alg: 'PS256' });
  await assert.doesNotReject(verifyJwt(token2, parseJwks(JSON.stringify({ keys: [unpinned.jwk] })).keys, opts));
});

test('time claims with 5 minutes of skew; exp is required', async () => {
  const key = testKey('EdDSA', 'k');
  const set = parseJwks(JSON.stringify({ keys: [key.jwk] })).keys;
  const at = (claims: Record<string, unknown>): Promise<string | undefined> => codeOf(() => verifyJwt(signJwt(key, claims), set, opts));
  const now = seconds(NOW);
  assert.equal(await at({ exp: now - 299 }), undefined);
  assert.equal(await at({ exp: now - 301 }), 'token_expired');
  assert.equal(await at({ exp: now + 60, nbf: now + 299 }), undefined);
  assert.equal(await at({ exp: now + 600, nbf: now + 301 }), 'token_not_yet_valid');
  assert.equal(await at({ exp: now + 600, iat: now + 301 }), 'token_not_yet_valid');
  assert.equal(await at({ sub: 'x' }), 'token_malformed');
  assert.equal(await at({ exp: 'tomorrow' }), 'token_malformed');
});

test('parseJwks: inline forms, skipped keys and errors', () => {
  const key = testKey('ES256', 'k');
  const json = JSON.stringify({ keys: [key.jwk] });
  assert.equal(parseJwks(json).keys.length, 1);
  assert.equal(parseJwks(Buffer.from(json).toString('base64')).keys.length, 1);
  assert.equal(parseJwks(Buffer.from(json).toString('base64url')).keys.length, 1);
  assert.equal(parseJwks(JSON.stringify(key.jwk)).keys[0]?.kid, 'k');

  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  const privateJwk = { ...testKey('EdDSA', 'priv').privateKey.export({ format: 'jwk' }), kid: 'priv' };
  const mixed = parseJwks(
    JSON.stringify({
      keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }, { ...key.jwk, kid: 'enc', use: 'enc' }, { ...weak, kid: 'weak' }, { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, privateJwk, key.jwk],
    }),
  );
  assert.deepEqual(
    mixed.keys.map((k) => k.kid),
    ['priv', 'k'],
  );
  assert.equal(mixed.skipped.length, 4);
  assert.match(mixed.skipped.join('\n'), /unsupported kty "oct" \(kid "hmac"\)/);
  assert.match(mixed.skipped.join('\n'), /shorter than 2048 bits/);
  assert.equal(mixed.keys[0]?.key.type, 'public');

  for (const bad of ['', 'not json at all!', '[]', '{"keys": []}', '{"keys": [{"kty": "oct", "k": "AA"}]}']) {
    assert.throws(() => parseJwks(bad), { code: 'jwks_invalid' }, bad);
  }
});
