import assert from 'node:assert/strict';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { test } from 'node:test';
import { decideJwtAction } from '../bundle/bundle-state.js';
import { parseSentryOptions } from '../options.js';
import { checkJwtAudiences } from '../server/sign-certificate.js';
import { generateJwtBundle, loadJwtIssuer, type JwtBundlePem } from './jwt-issuer.js';

const where = { key: 'jwt.key', jwks: 'jwks.json' };
const load = (bundle: JwtBundlePem, extra: { keyId?: string; algorithm?: 'RS256' | 'ES256' | 'EdDSA' } = {}) =>
  loadJwtIssuer(bundle, { algorithm: extra.algorithm ?? 'RS256', keyId: extra.keyId, issuer: undefined, where });

test('RS256, ES256 and EdDSA keys sign tokens that node:crypto verifies against their JWKS', async () => {
  for (const algorithm of ['RS256', 'ES256', 'EdDSA'] as const) {
    const bundle = await generateJwtBundle(algorithm);
    const issuer = await load(bundle, { algorithm });
    const token = await issuer.sign({ subject: 'spiffe://public/ns/default/app', audiences: ['public', 'a'], now: new Date(), ttlMs: 3_600_000, allowedClockSkewMs: 900_000 });
    const [h, p, s] = token.split('.') as [string, string, string];
    const { kid: _k, alg: _a, use: _u, ...jwk } = (JSON.parse(bundle.jwksJson) as { keys: Array<Record<string, unknown>> }).keys[0]!;
    const ok = verify(algorithm === 'RS256' ? 'sha256' : algorithm === 'ES256' ? 'sha256' : null, Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
    assert.ok(ok, algorithm);
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, number>;
    assert.equal(claims['exp']! - claims['iat']!, 3600);
    assert.equal(claims['iat']! - claims['nbf']!, 900);
  }
});

test('a JWKS that does not match the key, a wrong algorithm, a wrong --jwt-key-id are refused', async () => {
  const a = await generateJwtBundle('RS256');
  const b = await generateJwtBundle('RS256');
  await assert.rejects(load({ signingKeyPem: a.signingKeyPem, jwksJson: b.jwksJson }), { code: 'jwks_mismatch' });
  await assert.rejects(load(a, { algorithm: 'ES256' }), { code: 'jwt_key_algorithm_mismatch' });
  await assert.rejects(load(a, { keyId: 'other' }), /doesn't contain a key with user-provided key ID "other"/);
  await assert.rejects(load({ ...a, jwksJson: '{"keys":[]}' }), /doesn't contain any keys/);
  await assert.rejects(load({ ...a, jwksJson: 'nope' }), { code: 'jwks_invalid' });
  const kid = (JSON.parse(a.jwksJson) as { keys: Array<{ kid: string }> }).keys[0]!.kid;
  assert.equal((await load(a)).kid, kid);
  assert.match(kid, /^[A-Za-z0-9+/]{43}=$/, 'standard base64 of a SHA-256 thumbprint');
});

test('stored JWT entries: both absent generates, one absent is an error, never a silent new key', () => {
  const describe = { secret: 'Secret ns/b', jwtKeys: ['jwt.key', 'jwks.json'] as const };
  assert.equal(decideJwtAction({}, describe).kind, 'generate');
  assert.equal(decideJwtAction({ jwtKeyPem: 'k', jwksJson: 'j' }, describe).kind, 'load');
  assert.throws(() => decideJwtAction({ jwtKeyPem: 'k' }, describe), /has jwt.key but lacks jwks.json/);
  assert.throws(() => decideJwtAction({ jwksJson: 'j' }, describe), /has jwks.json but lacks jwt.key/);
});

test('jwt_audiences: empty strings, too many and too long are refused', () => {
  assert.doesNotThrow(() => checkJwtAudiences([]));
  assert.doesNotThrow(() => checkJwtAudiences(['a', 'b']));
  assert.throws(() => checkJwtAudiences(['a', ' ']), /jwt_audiences\[1\] is empty/);
  assert.throws(() => checkJwtAudiences(Array.from({ length: 17 }, () => 'a')), /limit is 16/);
  assert.throws(() => checkJwtAudiences(['x'.repeat(1025)]), /limit is 1024/);
});

test('JWT and OIDC flags: upstream names, defaults and checks', () => {
  const defaults = parseSentryOptions([], {});
  assert.deepEqual(defaults.jwt, { enabled: false, keyFilename: 'jwt.key', jwksFilename: 'jwks.json', issuer: undefined, algorithm: 'RS256', keyId: undefined, ttlMs: 86_400_000 });
  assert.equal(defaults.oidc.port, 9080);
  assert.equal(defaults.oidc.listenAddress, 'localhost');
  const on = parseSentryOptions(['--jwt-enabled', '--oidc-enabled', '--oidc-server-tls-enabled=false', '--oidc-allowed-hosts', 'a.example,b.example', '--jwt-signing-algorithm', 'EdDSA'], {});
  assert.equal(on.oidc.enabled, true);
  assert.equal(on.oidc.tls, undefined);
  assert.deepEqual(on.oidc.allowedHosts, ['a.example', 'b.example']);
  assert.equal(on.jwt.algorithm, 'EdDSA');
  assert.throws(() => parseSentryOptions(['--jwt-issuer', 'https://x'], {}), /jwt-issuer cannot be set when jwt-enabled is false/);
  assert.throws(() => parseSentryOptions(['--jwt-enabled', '--oidc-enabled'], {}), /oidc-server-tls-cert-file is required/);
  assert.throws(() => parseSentryOptions(['--jwt-signing-algorithm', 'HS256'], {}), /--jwt-signing-algorithm must be one of/);
  assert.equal(parseSentryOptions(['--oidc-enabled', '--oidc-server-tls-enabled=false'], {}).oidc.enabled, false, 'no OIDC server without JWT issuing');
});
