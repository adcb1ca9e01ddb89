/**
 * A small builder for the structural OpenAPI v3 schemas a CRD needs. The
 * CRD YAML under `crds/` is generated from these values and nothing else.
 */
export interface ValidationRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly fieldPath?: string;
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export interface JsonSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly description?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: JsonSchema;
  readonly items?: JsonSchema;
  readonly required?: readonly string[];
  readonly enum?: readonly string[];
  readonly format?: string;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly maxItems?: number;
  readonly maxProperties?: number;
  readonly minimum?: number;
  readonly 'x-kubernetes-preserve-unknown-fields'?: true;
  readonly 'x-kubernetes-int-or-string'?: true;
  readonly 'x-kubernetes-validations'?: readonly ValidationRule[];
  /** Value validations only (structural schemas allow no types inside): rules CEL's cost budget would need bounds for. */
  readonly anyOf?: readonly JsonSchema[];
  readonly not?: JsonSchema;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
}

type Extra = Omit<JsonSchema, 'type' | 'properties' | 'items' | 'additionalProperties'>;

// Issue #19: the schema refuses only what upstream's refuses or what daprd
// cannot load, so strings, lists and maps carry no bounds of their own
// (upstream's have none); a field a CEL rule reads sets one where the API
// server's cost estimate needs it.
export const MAX_NAME = 253;

export const str = (extra: Extra = {}): JsonSchema => ({ type: 'string', ...extra });
export const int = (extra: Extra = {}): JsonSchema => ({ type: 'integer', ...extra });
export const bool = (extra: Extra = {}): JsonSchema => ({ type: 'boolean', ...extra });

export function obj(properties: Record<string, JsonSchema>, extra: Extra = {}): JsonSchema {
  return { type: 'object', properties, ...extra };
}

export function arr(items: JsonSchema, extra: Extra = {}): JsonSchema {
  return { type: 'array', items, ...extra };
}

export function map(values: JsonSchema, extra: Extra = {}): JsonSchema {
  return { type: 'object', additionalProperties: values, ...extra };
}

/** Any JSON value (a metadata `value` may be a string, number, bool, list or object). */
export const anyJson = (description?: string): JsonSchema => ({
  ...(description ? { description } : {}),
  'x-kubernetes-preserve-unknown-fields': true,
});

/** Go's `time.ParseDuration` syntax (`0`, `5s`, `1h30m`, `-1.5h`, `500ms`). */
export const GO_DURATION_PATTERN = '^[-+]?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$';

/**
 * A duration daprd parses leniently or not at all (`spec.initTimeout`,
 * Configuration durations): a string, checked only by the webhook's warnings.
 */
export function duration(description?: string): JsonSchema {
  return str({ ...(description ? { description } : {}) });
}

/**
 * Resiliency's `policies.timeouts` values, which daprd parses as an integer
 * count of milliseconds or a Go duration and, failing both, drops the whole
 * Resiliency: "Could not read resiliency policy <name>: invalid duration"
 * (`dapr/dapr:pkg/resiliency/resiliency.go@v1.17.5` parseDuration).
 */
export const RESILIENCY_DURATION_PATTERN = `^([-+]?[0-9]+|${GO_DURATION_PATTERN.slice(1, -1)})$`;

export function resiliencyTimeout(): JsonSchema {
  // A schema pattern rather than CEL: no cost budget, so no length bound upstream lacks.
  return str({ pattern: RESILIENCY_DURATION_PATTERN, description: 'A Go duration such as "5s", or a number of milliseconds; daprd 1.17 cannot load a Resiliency with any other timeout.' });
}

export const scopes = (): JsonSchema =>
  arr(str(), { description: 'App IDs allowed to use this resource; empty means every app in the namespace.' });

export const typeMeta = (): Record<string, JsonSchema> => ({
  apiVersion: { type: 'string' },
  kind: { type: 'string' },
  metadata: { type: 'object' },
});

export const auth = (): JsonSchema =>
  obj({ secretStore: str({ description: 'The secret store that resolves secretKeyRef values; "kubernetes" (or empty) means Kubernetes Secrets.' }) }, { required: ['secretStore'] });

export const secretKeyRef = (): JsonSchema =>
  obj(
    {
      name: str({ description: 'Secret name.' }),
      key: str({ description: 'Key in the secret; defaults to the secret name.' }),
    },
    { required: ['name'] },
  );

/**
 * `{name, value | secretKeyRef | envRef}`: a Component metadata entry or an
 * HTTPEndpoint header. `value` is any JSON (upstream's DynamicValue), so it
 * has no schema type. As upstream's, the schema requires only `name`: an
 * entry with no value, or with two of the three, is what daprd loads (an
 * empty value; value before envRef, envRef before secretKeyRef), so the
 * webhook warns about it rather than any rule here refusing it.
 */
export function nameValuePair(what: string): JsonSchema {
  return obj(
    {
      name: str({ description: `Name of the ${what}.` }),
      value: anyJson('The value, any JSON.'),
      secretKeyRef: secretKeyRef(),
      envRef: str({ description: 'Name of an environment variable of the sidecar to read the value from.' }),
    },
    { required: ['name'] },
  );
}
