import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify, type JsonWebKey } from 'node:crypto';
import { request } from 'node:http';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { binaryPath, freePorts, pollUntil, probe, startDaprd, startProcess, type ManagedProcess } from '@tsdapr/e2e-harness';
import { createCsr, generateCaBundle } from '@tsdapr/pki';
import { generateJwtBundle, thumbprintKeyId } from './jwt/jwt-issuer.js';
import { sentryClient, startSentryProcess, type SentryClient, type SentryProcess } from './test-support/sentry-process.js';

const SENTRY_ID = 'spiffe://localhost/ns/default/dapr-sentry';
const ISSUER = 'https://sentry.jwt.test';
const UPSTREAM_CONFIG = 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: daprsystem\nspec:\n  mtls:\n    enabled: true\n    workloadCertTTL: 24h\n    allowedClockSkew: 15m\n';

let dir: string;
let ours: SentryProcess;
let upstream: ManagedProcess;
let ourOidcPort: number;
let upstreamOidcPort: number;
let ourClient: SentryClient;
let upstreamClient: SentryClient;

/** GET over plain HTTP with an explicit Host header. */
function get(port: number, path: string, host: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const part = (token: string, i: 0 | 1): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[i] ?? '', 'base64url').toString()) as Record<string, unknown>;

/** Verifies an RS256 JWT with node:crypto against a JWKS: independent of jose, which signed it. */
function verifyIndependently(token: string, jwksJson: string): boolean {
  const [h, p, s] = token.split('.') as [string, string, string];
  const kid = part(token, 0)['kid'];
  const jwk = (JSON.parse(jwksJson) as { keys: Array<JsonWebKey & { kid?: string }> }).keys.find((key) => key.kid === kid);
  if (!jwk || part(token, 0)['alg'] !== 'RS256') return false;
  const { kid: _kid, alg: _alg, use: _use, ...material } = jwk as Record<string, unknown>;
  return verify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: material as JsonWebKey, format: 'jwk' }), Buffer.from(s, 'base64url'));
}

async function sign(client: SentryClient, audiences: string[], id = 'jwt-app'): Promise<string> {
  const csrPem = createCsr(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  const response = (await client.sign({ id, namespace: 'default', certificate_signing_request: Buffer.from(csrPem), jwt_audiences: audiences })) as { jwt?: { value: string } | null };
  assert.ok(response.jwt?.value, 'the response carries a jwt');
  return response.jwt.value;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsdapr-sentry-jwt-'));
  // The same X.509 bundle and JWT key in both directories, written before start
  // (upstream restarts its CA when its credentials directory changes).
  const bundle = generateCaBundle({ trustDomain: 'localhost', sentrySpiffeId: SENTRY_ID, algorithm: 'ecdsa-p256', now: new Date() });
  const jwt = await generateJwtBundle('RS256');
  for (const name of ['ours', 'upstream']) {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'ca.crt'), bundle.trustAnchorsPem);
    await writeFile(join(dir, name, 'issuer.crt'), bundle.issuerChainPem);
    await writeFile(join(dir, name, 'issuer.key'), bundle.issuerKeyPem, { mode: 0o600 });
    await writeFile(join(dir, name, 'jwt.key'), jwt.signingKeyPem, { mode: 0o600 });
    await writeFile(join(dir, name, 'jwks.json'), jwt.jwksJson);
  }
  await writeFile(join(dir, 'upstream-config.yaml'), UPSTREAM_CONFIG);
  const [oidcA, oidcB, grpcB, healthzB, metricsB] = (await freePorts(5)) as [number, number, number, number, number];
  ourOidcPort = oidcA;
  upstreamOidcPort = oidcB;
  const jwtArgs = ['--jwt-enabled', '--jwt-issuer', ISSUER, '--oidc-enabled', '--oidc-server-tls-enabled=false', '--oidc-server-listen-address', '127.0.0.1'];
  ours = await startSentryProcess({
    args: ['--mode', 'standalone', '--issuer-credentials', join(dir, 'ours'), '--trust-domain', 'localhost', ...jwtArgs, '--oidc-server-listen-port', String(oidcA), '--oidc-allowed-hosts', 'localhost,sentry.jwt.test'],
    env: { NAMESPACE: 'default' },
  });
  upstream = startProcess({
    name: 'upstream sentry',
    command: binaryPath('upstream-sentry', '1.17.5'),
    args: ['--mode', 'standalone', '--issuer-credentials', join(dir, 'upstream'), '--trust-domain', 'localhost', '--config', join(dir, 'upstream-config.yaml'), '--port', String(grpcB), '--listen-address', '127.0.0.1', '--healthz-port', String(healthzB), '--metrics-port', String(metricsB), ...jwtArgs, '--oidc-server-listen-port', String(oidcB)],
    env: { ...(process.env as Record<string, string>), NAMESPACE: 'default' },
  });
  await pollUntil('upstream sentry healthy', async () => ((await probe(`http://127.0.0.1:${healthzB}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), { timeoutMs: 30_000 });
  const anchors = bundle.trustAnchorsPem;
  ourClient = sentryClient(`127.0.0.1:${ours.grpcPort}`, anchors, SENTRY_ID);
  upstreamClient = sentryClient(`127.0.0.1:${grpcB}`, anchors, SENTRY_ID);
});

after(async () => {
  ourClient?.close();
  upstreamClient?.close();
  await ours?.stop();
  await upstream?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a JWT with two audiences verifies against the served JWKS (node:crypto) and matches upstream 1.17.5 claim by claim', async () => {
  const audiences = ['https://vault.example', 'api://AzureADTokenExchange'];
  const [token, upstreamToken] = await Promise.all([sign(ourClient, audiences), sign(upstreamClient, audiences)]);
  const jwks = await get(ourOidcPort, '/jwks.json', 'localhost');
  assert.equal(jwks.status, 200);
  assert.equal(jwks.headers['content-type'], 'application/json');
  assert.ok(verifyIndependently(token, jwks.body), 'our JWT verifies with node:crypto against our OIDC JWKS');
  // Upstream's token verifies against our JWKS too (same key), and ours against upstream's served JWKS.
  const upstreamJwks = await get(upstreamOidcPort, '/jwks.json', 'localhost');
  assert.ok(verifyIndependently(upstreamToken, jwks.body));
  assert.ok(verifyIndependently(token, upstreamJwks.body));

  const [ourHeader, upHeader] = [part(token, 0), part(upstreamToken, 0)];
  assert.deepEqual(ourHeader, upHeader, 'header (alg, kid, typ)');
  const [claims, upClaims] = [part(token, 1), part(upstreamToken, 1)];
  assert.deepEqual(Object.keys(claims).sort(), Object.keys(upClaims).sort(), 'the same claim names');
  for (const name of ['sub', 'aud', 'iss', 'use'] as const) assert.deepEqual(claims[name], upClaims[name], name);
  assert.deepEqual(claims['aud'], ['public', ...audiences], "the workload's trust domain first, then the requested audiences");
  assert.equal(claims['sub'], 'spiffe://public/ns/default/jwt-app');
  const n = (c: Record<string, unknown>, k: string): number => c[k] as number;
  assert.equal(n(claims, 'exp') - n(claims, 'iat'), n(upClaims, 'exp') - n(upClaims, 'iat'), 'exp - iat (--jwt-ttl)');
  assert.equal(n(claims, 'iat') - n(claims, 'nbf'), n(upClaims, 'iat') - n(upClaims, 'nbf'), 'iat - nbf (allowed clock skew)');
  assert.ok(Math.abs(n(claims, 'iat') - n(upClaims, 'iat')) < 30);
  assert.match(String(claims['jti']), /^[0-9a-f]{32}$/);
  assert.match(String(upClaims['jti']), /^[0-9a-f]{32}$/);
  assert.match(ours.logs(), new RegExp(`kid ${String(ourHeader['kid']).replace(/[+/=]/g, '\\$&')}`), 'the derived kid is logged');

  // The discovery documents agree too.
  const [doc, upDoc] = await Promise.all([get(ourOidcPort, '/.well-known/openid-configuration', 'sentry.jwt.test'), get(upstreamOidcPort, '/.well-known/openid-configuration', 'sentry.jwt.test')]);
  assert.equal(doc.status, 200);
  assert.deepEqual(JSON.parse(doc.body), JSON.parse(upDoc.body));
});

test('bad input: empty or too many audiences, an unexpected OIDC host; nothing changes', async () => {
  const csrPem = createCsr(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  const base = { id: 'jwt-app', namespace: 'default', certificate_signing_request: Buffer.from(csrPem) };
  await assert.rejects(ourClient.sign({ ...base, jwt_audiences: ['ok', ''] }), (err: { code: number; details: string }) => err.code === 3 && /jwt_audiences\[1\] is empty/.test(err.details));
  await assert.rejects(ourClient.sign({ ...base, jwt_audiences: Array.from({ length: 17 }, (_, i) => `a${i}`) }), (err: { code: number; details: string }) => err.code === 3 && /limit is 16/.test(err.details));
  // No audiences: the trust domain alone, as upstream.
  assert.deepEqual(part(await sign(ourClient, []), 1)['aud'], ['public']);
  const forbidden = await get(ourOidcPort, '/jwks.json', 'evil.example');
  assert.equal(forbidden.status, 403);
  assert.match(forbidden.body, /unauthorized domain/);
  assert.equal((await get(ourOidcPort, '/jwks.json', `localhost:${ourOidcPort}`)).status, 200, 'host with port is allowed');
});

test('key rotation: two keys in the JWKS, then the old one retired; a JWKS that does not match the key is refused', async () => {
  const credentials = join(dir, 'ours');
  const oldToken = await sign(ourClient, ['rotation']);
  const oldKid = part(oldToken, 0)['kid'];
  const oldJwks = JSON.parse(await readFile(join(credentials, 'jwks.json'), 'utf8')) as { keys: object[] };
  const next = await generateJwtBundle('RS256');
  const nextJwk = (JSON.parse(next.jwksJson) as { keys: Array<{ kid: string }> }).keys[0]!;
  const replace = async (name: string, content: string): Promise<void> => {
    await writeFile(join(credentials, `${name}.new`), content, { mode: 0o600 });
    await rename(join(credentials, `${name}.new`), join(credentials, name));
  };
  // 1. Publish the new key beside the old one, 2. sign with it.
  await replace('jwks.json', JSON.stringify({ keys: [...oldJwks.keys, nextJwk] }));
  await replace('jwt.key', next.signingKeyPem);
  const newToken = await pollUntil('tokens signed with the new key', async () => {
    const token = await sign(ourClient, ['rotation']);
    return part(token, 0)['kid'] === nextJwk.kid ? token : undefined;
  }, { timeoutMs: 10_000 });
  const both = (await get(ourOidcPort, '/jwks.json', 'localhost')).body;
  assert.ok(verifyIndependently(oldToken, both), 'a token of the old key still verifies');
  assert.ok(verifyIndependently(newToken, both), 'a token of the new key verifies');
  assert.notEqual(oldKid, nextJwk.kid);
  assert.equal(nextJwk.kid, await thumbprintKeyId(JSON.parse(JSON.stringify({ ...nextJwk, kid: undefined, alg: undefined, use: undefined })) as never));

  // A JWKS without the signing key's public key is refused: the last good one stays in force.
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  await replace('jwks.json', JSON.stringify({ keys: [{ ...stranger, kid: 'stranger', use: 'sig', alg: 'RS256' }] }));
  await pollUntil('the mismatch is reported', async () => (/doesn't contain the public key of the JWT signing key/.test(ours.logs()) ? true : undefined), { timeoutMs: 10_000 });
  assert.equal((await get(ourOidcPort, '/jwks.json', 'localhost')).body, both, 'the served JWKS is unchanged');
  assert.ok(verifyIndependently(await sign(ourClient, ['rotation']), both));

  // 3. Retire the old key.
  await replace('jwks.json', JSON.stringify({ keys: [nextJwk] }));
  const retired = await pollUntil('the old key retired', async () => {
    const body = (await get(ourOidcPort, '/jwks.json', 'localhost')).body;
    return (JSON.parse(body) as { keys: unknown[] }).keys.length === 1 ? body : undefined;
  }, { timeoutMs: 10_000 });
  const after = await sign(ourClient, ['rotation']);
  assert.equal(part(after, 0)['kid'], nextJwk.kid);
  assert.ok(verifyIndependently(after, retired));
  assert.ok(verifyIndependently(newToken, retired));
  assert.equal(verifyIndependently(oldToken, retired), false, 'the retired key no longer verifies');
});

for (const version of ['1.17.5', '1.18.1']) {
  test(`real daprd ${version} with JWTs enabled on our sentry turns healthy`, async () => {
    const appId = `jwt-${version.replace(/\./g, '')}`;
    const daprd = await startDaprd({
      appId,
      version,
      args: ['--enable-mtls', '--sentry-address', `127.0.0.1:${ours.grpcPort}`, '--control-plane-trust-domain', 'localhost', '--control-plane-namespace', 'default', '--sentry-request-jwt-audiences', 'https://vault.example'],
      env: { DAPR_TRUST_ANCHORS: await readFile(join(dir, 'ours', 'ca.crt'), 'utf8'), NAMESPACE: 'default' },
    });
    try {
      await daprd.waitHealthy(60_000);
      // Its SVID (and so its JWT, issued in the same answer) came from our sentry.
      assert.match(ours.logs(), new RegExp(`spiffe://public/ns/default/${appId}`));
    } catch (err) {
      assert.fail(`daprd ${version} did not turn healthy: ${(err as Error).message}\n--- daprd ---\n${daprd.logs().slice(-3000)}`);
    } finally {
      await daprd.stop();
    }
  });
}
