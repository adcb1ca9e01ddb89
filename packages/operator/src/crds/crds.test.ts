import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { allCrds, crdFileName, renderCrdYaml } from './all-crds.js';
import { RESILIENCY_DURATION_PATTERN, type JsonSchema } from './json-schema.js';

const CRD_DIR = fileURLToPath(new URL('../../../../crds/', import.meta.url));

describe('generated CRDs', () => {
  for (const crd of allCrds()) {
    test(`crds/${crdFileName(crd)} is what the code generates (run pnpm generate:crds)`, () => {
      const committed = readFileSync(`${CRD_DIR}${crdFileName(crd)}`, 'utf8');
      assert.equal(committed, renderCrdYaml(crd), `crds/${crdFileName(crd)} is stale: run \`pnpm generate:crds\` and commit it`);
    });

    test(`${crd.metadata.name} round-trips through YAML and is structural`, () => {
      assert.deepEqual(load(renderCrdYaml(crd)), JSON.parse(JSON.stringify(crd)));
      for (const version of crd.spec.versions) assertStructural(version.schema.openAPIV3Schema, `${version.name}`);
      assert.equal(crd.spec.versions.filter((v) => v.storage).length, 1, 'exactly one storage version');
    });
  }

  test('subscriptions serve v1alpha1 and v2alpha1, store v2alpha1, convert through the webhook', () => {
    const sub = allCrds().find((crd) => crd.spec.names.plural === 'subscriptions');
    assert.deepEqual(sub?.spec.versions.map((v) => [v.name, v.served, v.storage]), [['v1alpha1', true, false], ['v2alpha1', true, true]]);
    assert.equal(sub?.spec.conversion?.strategy, 'Webhook');
    assert.equal(sub?.spec.conversion?.webhook.clientConfig.service?.path, '/convert');
  });

  // Resiliency timeouts: what daprd 1.17's parseDuration takes (an integer is milliseconds), and nothing it refuses.
  const durationCases: Array<[string, boolean]> = [['5s', true], ['1h30m', true], ['0', true], ['500ms', true], ['1.5h', true], ['-2m', true], ['5', true], ['1500', true], ['five seconds', false], ['', false], ['5d', false], ['soon', false]];
  for (const [text, ok] of durationCases) {
    test(`resiliency timeout "${text}" is ${ok ? 'accepted' : 'rejected'}`, () => {
      assert.equal(new RegExp(RESILIENCY_DURATION_PATTERN, 'u').test(text), ok);
    });
  }
});

/** The API server's structural rules that matter here: every node typed or preserving unknown fields. */
function assertStructural(schema: JsonSchema, path: string): void {
  assert.ok(schema.type !== undefined || schema['x-kubernetes-preserve-unknown-fields'] === true || schema['x-kubernetes-int-or-string'] === true, `${path} has a type`);
  for (const [name, child] of Object.entries(schema.properties ?? {})) assertStructural(child, `${path}.${name}`);
  if (schema.items) assertStructural(schema.items, `${path}[]`);
  if (schema.additionalProperties) assertStructural(schema.additionalProperties, `${path}{}`);
}
