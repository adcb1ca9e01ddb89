import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@tsdapr/runtime';
import { classifyJwksSource, createJwksValidator } from './jwks-validator.js';
import { request, signJwt, testKey, type TestKey } from './test-support.js';

const SENTRY = 'spiffe://cluster.local/ns/dapr-system/dapr-sentry';
const NOW = 1_750_000_000_000;
const now = (): number => NOW;
const nowSec = Math.floor(NOW / 1000);

const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: 'spiffe://public/ns/default/app-1',
  aud: [SENTRY, 'other'],
  iat: nowSec,
  exp: nowSec + 3600,
  ...overrides,
});

const jwks = (...keys: TestKey[]): string => JSON.stringify({ keys: keys.map((k) => k.jwk) });

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('classifyJwksSource', () => {
  const never = (): boolean => false;
  assert.equal(classifyJwksSource('https://idp.example/jwks.json', never).kind, 'url');
  assert.equal(classifyJwksSource('HTTP://idp.example/jwks', never).kind, 'url');
  assert.equal(classifyJwksSource('/etc/jwks.json', never).kind, 'file');
  assert.equal(classifyJwksSource('./jwks.json', never).kind, 'file');
  assert.equal(classifyJwksSource('jwks.json', () => true).kind, 'file');
  assert.equal(classifyJwksSource('{"keys": []}', never).kind, 'inline');
  assert.equal(classifyJwksSource('eyJrZXlzIjpbXX0=', never).kind, 'inline');
});

test('inline JWKS: accepts the right token; checks aud, sub and the request', async () => {
  const key = testKey('RS256', 'k1');
  const validator = createJwksValidator({ source: jwks(key), sentrySpiffeId: SENTRY, logger: silentLogger(), now });
  assert.equal(validator.name, 'jwks');
  assert.equal(validator.ready(), true);

  const ok = await validator.validate(request({ token: signJwt(key, claims()), tokenValidator: 'JWKS' }));
  assert.deepEqual(ok, { trustDomain: 'public', namespace: 'default', id: 'app-1', spiffeId: 'spiffe://public/ns/default/app-1' });

  // The trust domain comes from sub; a request that names one must match it.
  const td = signJwt(key, claims({ sub: 'spiffe://example.org/ns/default/app-1' }));
  assert.equal((await validator.validate(request({ token: td }))).trustDomain, 'example.org');
  assert.equal((await validator.validate(request({ token: td, trustDomain: 'example.org' }))).trustDomain, 'example.org');
  await assert.rejects(validator.validate(request({ token: td, trustDomain: 'public' })), { code: 'token_subject_mismatch' });

  const cases: Array<[string, Parameters<typeof request>[0], string]> = [
    ['no token', { token: '' }, 'token_missing'],
    ['bad id', { id: 'a.b', token: signJwt(key, claims()) }, 'id_invalid'],
    ['aud without sentry', { token: signJwt(key, claims({ aud: 'spiffe://cluster.local/ns/dapr-system/dapr-operator' })) }, 'token_audience_mismatch'],
    ['no aud', { token: signJwt(key, claims({ aud: undefined })) }, 'token_audience_mismatch'],
    ['sub for another app', { token: signJwt(key, claims({ sub: 'spiffe://public/ns/default/app-2' })) }, 'token_subject_mismatch'],
    ['sub for another namespace', { token: signJwt(key, claims({ sub: 'spiffe://public/ns/prod/app-1' })) }, 'token_subject_mismatch'],
    ['sub not a SPIFFE ID', { token: signJwt(key, claims({ sub: 'app-1' })) }, 'token_subject_mismatch'],
    ['sub with a bad trust domain', { token: signJwt(key, claims({ sub: 'spiffe://Bad_TD!/ns/default/app-1' })) }, 'trust_domain_invalid'],
    ['expired', { token: signJwt(key, claims({ exp: nowSec - 301 })) }, 'token_expired'],
    ['garbage', { token: 'garbage' }, 'token_malformed'],
    ['unknown key', { token: signJwt(testKey('RS256', 'k2'), claims()) }, 'token_key_not_found'],
  ];
  for (const [name, overrides, code] of cases) {
    await assert.rejects(validator.validate(request(overrides)), (err: unknown) => {
      assert.equal((err as { code?: string }).code, code, name);
      const token = overrides?.token;
      if (token) assert.ok(!(err as Error).message.includes(token), `${name}: message must not contain the token`);
      return true;
    });
  }
});

test('inline JWKS that is unusable fails at creation', () => {
  assert.throws(() => createJwksValidator({ source: '{"keys": []}', sentrySpiffeId: SENTRY, logger: silentLogger() }), { code: 'jwks_invalid' });
});

test('file JWKS: loaded by the runner, reloaded when the file is replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-jwks-'));
  const file = join(dir, 'jwks.json');
  const first = testKey('ES256', 'first');
  const second = testKey('EdDSA', 'second');
  writeFileSync(file, jwks(first));
  const validator = createJwksValidator({ source: file, sentrySpiffeId: SENTRY, logger: silentLogger(), now });
  assert.equal(validator.ready(), false);
  await assert.rejects(validator.validate(request({ token: signJwt(first, claims()) })), { code: 'validator_not_ready' });

  const controller = new AbortController();
  const run = validator.runner?.(controller.signal);
  await until(() => validator.ready(), 'ready');
  await validator.validate(request({ token: signJwt(first, claims()) }));
  await assert.rejects(validator.validate(request({ token: signJwt(second, claims()) })), { code: 'token_key_not_found' });

  // Replace atomically, as a mounted Secret does.
  writeFileSync(join(dir, 'jwks.json.new'), jwks(second));
  renameSync(join(dir, 'jwks.json.new'), file);
  await until(
    () =>
      validator.validate(request({ token: signJwt(second, claims()) })).then(
        () => true,
        () => false,
      ),
    'reload',
  );
  await assert.rejects(validator.validate(request({ token: signJwt(first, claims()) })), { code: 'token_key_not_found' });
  controller.abort();
  await run;
});

test('file JWKS that does not exist fails the runner with a clear message', async () => {
  const validator = createJwksValidator({ source: '/nonexistent/jwks.json', sentrySpiffeId: SENTRY, logger: silentLogger() });
  await assert.rejects(validator.runner?.(new AbortController().signal) ?? Promise.resolve(), { code: 'jwks_load_failed', message: /cannot read the JWKS file \/nonexistent\/jwks\.json/ });
});

test('URL JWKS: fetched at start, refetched for an unknown kid at most every minRefreshInterval', async () => {
  const a = testKey('RS256', 'a');
  const b = testKey('ES256', 'b');
  let served = jwks(a);
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches += 1;
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(served);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let clock = NOW;
  try {
    const validator = createJwksValidator({
      source: `http://127.0.0.1:${port}/jwks.json`,
      allowInsecureHttp: true,
      sentrySpiffeId: SENTRY,
      logger: silentLogger(),
      minRefreshIntervalMs: 60_000,
      requestTimeoutMs: 2000,
      now: () => clock,
    });
    const controller = new AbortController();
    const run = validator.runner?.(controller.signal);
    await until(() => validator.ready(), 'ready');
    assert.equal(fetches, 1);
    await validator.validate(request({ token: signJwt(a, claims()) }));

    // Key rotated on the server. Too soon to refetch: refused without a fetch.
    served = jwks(b);
    await assert.rejects(validator.validate(request({ token: signJwt(b, claims()) })), { code: 'token_key_not_found' });
    assert.equal(fetches, 1);

    // After minRefreshInterval an unknown kid triggers one refetch.
    clock += 61_000;
    await validator.validate(request({ token: signJwt(b, claims()) }));
    assert.equal(fetches, 2);
    controller.abort();
    await run;

    const broken = createJwksValidator({ source: `http://127.0.0.1:${port}/missing`, allowInsecureHttp: true, sentrySpiffeId: SENTRY, logger: silentLogger() });
    await assert.rejects(broken.runner?.(new AbortController().signal) ?? Promise.resolve(), { code: 'jwks_load_failed', message: /HTTP 404/ });
  } finally {
    server.close();
  }
});

test('a plain http JWKS URL is refused unless explicitly allowed', () => {
  assert.throws(() => createJwksValidator({ source: 'http://jwks.example/keys', sentrySpiffeId: SENTRY, logger: silentLogger() }), { code: 'jwks_insecure_url' });
  assert.doesNotThrow(() => createJwksValidator({ source: 'http://jwks.example/keys', allowInsecureHttp: true, sentrySpiffeId: SENTRY, logger: silentLogger() }));
  assert.doesNotThrow(() => createJwksValidator({ source: 'https://jwks.example/keys', sentrySpiffeId: SENTRY, logger: silentLogger() }));
});
