import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideBundleAction, sameAnchors, TrustBundleError, type StoredBundle } from './bundle-state.js';

const A = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const B = '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n';
const names = { secret: 'Secret ns/dapr-trust-bundle', published: 'ConfigMap ns/dapr-trust-bundle', keys: ['ca.crt', 'issuer.crt', 'issuer.key'] as const };
const full = { trustAnchorsPem: A, issuerChainPem: 'chain', issuerKeyPem: 'key' };

test('decideBundleAction', async (t) => {
  const cases: Array<{ name: string; stored: StoredBundle; want: string | RegExp }> = [
    { name: 'everything empty: generate', stored: { publishedAnchorsPem: '' }, want: 'generate' },
    { name: 'complete and published the same: load', stored: { ...full, publishedAnchorsPem: A }, want: 'load' },
    { name: 'complete, published differs only in whitespace: load', stored: { ...full, publishedAnchorsPem: A.replace(/\n/g, '\r\n') + '\n' }, want: 'load' },
    { name: 'complete, nothing published: publish', stored: { ...full, publishedAnchorsPem: '' }, want: 'publish' },
    { name: 'complete, published differs: mismatch, never re-root', stored: { ...full, publishedAnchorsPem: B }, want: /differs from Secret ns\/dapr-trust-bundle ca.crt/ },
    { name: 'a key missing: incomplete, never re-root', stored: { ...full, issuerKeyPem: '', publishedAnchorsPem: A }, want: /lacks issuer.key; refusing to re-root/ },
    { name: 'two keys missing: both named', stored: { trustAnchorsPem: A, publishedAnchorsPem: A }, want: /lacks issuer.crt, issuer.key/ },
    { name: 'Secret empty but anchors published: refuse', stored: { publishedAnchorsPem: A }, want: /is empty but ConfigMap ns\/dapr-trust-bundle still holds trust anchors/ },
  ];
  for (const testCase of cases) {
    await t.test(testCase.name, () => {
      if (typeof testCase.want === 'string') assert.equal(decideBundleAction(testCase.stored, names).kind, testCase.want);
      else assert.throws(() => decideBundleAction(testCase.stored, names), (err: unknown) => err instanceof TrustBundleError && (testCase.want as RegExp).test(err.message));
    });
  }
});

test('a store without a published copy (standalone files) loads a complete bundle', () => {
  assert.equal(decideBundleAction(full, { secret: 'directory /x', keys: names.keys }).kind, 'load');
});

test('sameAnchors ignores order and whitespace, not content', () => {
  assert.equal(sameAnchors(A + B, B + A), true);
  assert.equal(sameAnchors(A, A + B), false);
  assert.equal(sameAnchors(A, B), false);
});
