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
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
}

type Extra = Omit<JsonSchema, 'type' | 'properties' | 'items' | 'additionalProperties'>;

// Bounds keep the API server's CEL cost estimate finite; they are far above
// anything a real resource holds.
export const MAX_STRING = 4096;
export const MAX_NAME = 253;
export const MAX_LIST = 512;
export const MAX_MAP = 512;

export const str = (extra: Extra = {}): JsonSchema => ({ type: 'string', maxLength: MAX_STRING, ...extra });
export const int = (extra: Extra = {}): JsonSchema => ({ type: 'integer', ...extra });
export const bool = (extra: Extra = {}): JsonSchema => ({ type: 'boolean', ...extra });

export function obj(properties: Record<string, JsonSchema>, extra: Extra = {}): JsonSchema {
  return { type: 'object', properties, ...extra };
}

export function arr(items: JsonSchema, extra: Extra = {}): JsonSchema {
  return { type: 'array', items, maxItems: MAX_LIST, ...extra };
}

export function map(values: JsonSchema, extra: Extra = {}): JsonSchema {
  return { type: 'object', additionalProperties: values, maxProperties: MAX_MAP, ...extra };
}

/** Any JSON value (a metadata `value` may be a string, number, bool, list or object). */
export const anyJson = (description?: string): JsonSchema => ({
  ...(description ? { description } : {}),
  'x-kubernetes-preserve-unknown-fields': true,
});

/** Go's `time.ParseDuration` syntax (`0`, `5s`, `1h30m`, `-1.5h`, `500ms`). */
export const GO_DURATION_PATTERN = '^[-+]?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$';

/** A string that must be a Go duration, checked by CEL so the message names the rule. */
export function duration(description?: string): JsonSchema {
  return str({
    ...(description ? { description } : {}),
    maxLength: 64,
    'x-kubernetes-validations': [{ rule: `self.matches(r'${GO_DURATION_PATTERN}')`, message: 'must be a Go duration such as "5s", "1m30s" or "500ms"' }],
  });
}

export const scopes = (): JsonSchema =>
  arr(str({ maxLength: 63 }), { description: 'App IDs allowed to use this resource; empty means every app in the namespace.', maxItems: 1024 });

export const typeMeta = (): Record<string, JsonSchema> => ({
  apiVersion: { type: 'string' },
  kind: { type: 'string' },
  metadata: { type: 'object' },
});

export const auth = (): JsonSchema =>
  obj({ secretStore: str({ maxLength: MAX_NAME, description: 'The secret store that resolves secretKeyRef values; "kubernetes" (or empty) means Kubernetes Secrets.' }) }, { required: ['secretStore'] });

export const secretKeyRef = (): JsonSchema =>
  obj(
    {
      name: str({ maxLength: MAX_NAME, description: 'Secret name.' }),
      key: str({ maxLength: MAX_NAME, description: 'Key in the secret; defaults to the secret name.' }),
    },
    { required: ['name'] },
  );

/**
 * `{name, value | secretKeyRef | envRef}`: a Component metadata entry or an
 * HTTPEndpoint header. `value` is any JSON (upstream's DynamicValue), so it
 * has no schema type, and a field without a type is invisible to CEL: the
 * rule here can only refuse secretKeyRef together with envRef. "Exactly one
 * of the three" is completed by the validating webhook, which sees `value`.
 */
export function nameValuePair(what: string): JsonSchema {
  return obj(
    {
      name: str({ maxLength: MAX_NAME }),
      value: anyJson('The value, any JSON.'),
      secretKeyRef: secretKeyRef(),
      envRef: str({ maxLength: MAX_NAME, description: 'Name of an environment variable of the sidecar to read the value from.' }),
    },
    {
      required: ['name'],
      'x-kubernetes-validations': [
        {
          rule: '!(has(self.secretKeyRef) && has(self.envRef))',
          messageExpression: `'${what} "' + self.name + '" sets both secretKeyRef and envRef: set exactly one of value, secretKeyRef or envRef'`,
        },
      ],
    },
  );
}
