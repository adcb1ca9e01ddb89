import type { JsonSchema } from './json-schema.js';

export const DAPR_GROUP = 'dapr.io';

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

export interface CrdVersion {
  readonly name: string;
  readonly served: boolean;
  readonly storage: boolean;
  readonly schema: { readonly openAPIV3Schema: JsonSchema };
  readonly additionalPrinterColumns?: readonly PrinterColumn[];
  readonly subresources?: { readonly status?: Record<string, never> };
}

export interface WebhookConversion {
  readonly strategy: 'Webhook';
  readonly webhook: {
    readonly clientConfig: {
      readonly service?: { readonly namespace: string; readonly name: string; readonly path: string; readonly port?: number };
      readonly url?: string;
      readonly caBundle?: string;
    };
    readonly conversionReviewVersions: readonly string[];
  };
}

/** A `apiextensions.k8s.io/v1` CustomResourceDefinition as plain data. */
export interface CustomResourceDefinition {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec: {
    readonly group: string;
    readonly names: {
      readonly kind: string;
      readonly listKind: string;
      readonly plural: string;
      readonly singular: string;
      readonly shortNames?: readonly string[];
      readonly categories?: readonly string[];
    };
    readonly scope: 'Namespaced';
    readonly versions: readonly CrdVersion[];
    readonly conversion?: WebhookConversion;
  };
}

export interface CrdOptions {
  readonly kind: string;
  readonly plural: string;
  readonly shortNames: readonly string[];
  readonly versions: readonly CrdVersion[];
  readonly conversion?: WebhookConversion;
}

export function daprCrd(options: CrdOptions): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${options.plural}.${DAPR_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'dapr' } },
    spec: {
      group: DAPR_GROUP,
      names: {
        kind: options.kind,
        listKind: `${options.kind}List`,
        plural: options.plural,
        singular: options.kind.toLowerCase(),
        shortNames: options.shortNames,
        categories: ['all', 'dapr'],
      },
      scope: 'Namespaced',
      versions: options.versions,
      ...(options.conversion ? { conversion: options.conversion } : {}),
    },
  };
}

export const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
