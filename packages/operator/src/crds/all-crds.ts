import { dump } from 'js-yaml';
import { componentCrd } from './component-crd.js';
import { configurationCrd } from './configuration-crd.js';
import type { CustomResourceDefinition } from './crd.js';
import { httpEndpointCrd } from './http-endpoint-crd.js';
import { resiliencyCrd } from './resiliency-crd.js';
import { subscriptionCrd } from './subscription-crd.js';

/** Every CRD the operator ships, in the order they are written and applied. */
export function allCrds(): CustomResourceDefinition[] {
  return [componentCrd(), configurationCrd(), subscriptionCrd(), resiliencyCrd(), httpEndpointCrd()];
}

/** The file a CRD is written to under `crds/`. */
export const crdFileName = (crd: CustomResourceDefinition): string => `${crd.spec.names.plural}.yaml`;

export const GENERATED_HEADER = '# Generated from packages/operator/src/crds by `pnpm generate:crds`. Do not edit.\n';

export function renderCrdYaml(crd: CustomResourceDefinition): string {
  return GENERATED_HEADER + dump(crd, { noRefs: true, lineWidth: -1, quotingType: '"' });
}
