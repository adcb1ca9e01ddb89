import { daprCrd, AGE_COLUMN, type CustomResourceDefinition } from './crd.js';
import { anyJson, duration, int, map, obj, scopes, str, typeMeta, type JsonSchema, type ValidationRule } from './json-schema.js';

const policyNames = (extra: Record<string, JsonSchema> = {}): JsonSchema =>
  obj({
    retry: str({ maxLength: 253 }),
    timeout: str({ maxLength: 253 }),
    circuitBreaker: str({ maxLength: 253 }),
    ...extra,
  });

type PolicyKind = 'retries' | 'timeouts' | 'circuitBreakers';
const FIELD_OF: Record<PolicyKind, 'retry' | 'timeout' | 'circuitBreaker'> = { retries: 'retry', timeouts: 'timeout', circuitBreakers: 'circuitBreaker' };

/**
 * A CEL rule on `spec`: every `<field>` of the targets under `targets.<group>`
 * (optionally one level deeper, for components' inbound/outbound) names a
 * policy of `kind` defined in this same object.
 */
function referenceRule(group: 'apps' | 'actors' | 'components', kind: PolicyKind, direction?: 'inbound' | 'outbound'): ValidationRule {
  const field = FIELD_OF[kind];
  const target = direction ? `self.targets.${group}[k].${direction}` : `self.targets.${group}[k]`;
  const guard = direction ? `has(self.targets.${group}[k].${direction}) && ` : '';
  const defined = `has(self.policies.${kind}) && ${target}.${field} in self.policies.${kind}`;
  const where = `targets.${group}.<name>${direction ? `.${direction}` : ''}.${field}`;
  return {
    rule: `!has(self.targets.${group}) || self.targets.${group}.all(k, !(${guard}has(${target}.${field})) || (${defined}))`,
    message: `every ${where} must name a policy defined in spec.policies.${kind} of this Resiliency`,
    fieldPath: `.targets.${group}`,
  };
}

export function resiliencySchema(): JsonSchema {
  const rules: ValidationRule[] = [];
  for (const kind of ['retries', 'timeouts', 'circuitBreakers'] as const) {
    rules.push(referenceRule('apps', kind), referenceRule('actors', kind), referenceRule('components', kind, 'outbound'), referenceRule('components', kind, 'inbound'));
  }
  return obj(
    {
      ...typeMeta(),
      scopes: scopes(),
      spec: obj(
        {
          policies: obj({
            timeouts: map(duration(), { maxProperties: 128 }),
            retries: map(
              obj({
                policy: str({ enum: ['constant', 'exponential'] }),
                duration: duration(),
                maxInterval: duration(),
                maxRetries: int(),
                matching: obj({ httpStatusCodes: str(), gRPCStatusCodes: str() }),
              }),
              { maxProperties: 128 },
            ),
            circuitBreakers: map(
              obj({
                maxRequests: int({ minimum: 0 }),
                interval: duration(),
                timeout: duration(),
                trip: str({ description: 'A CEL expression over the request counts, for example `consecutiveFailures > 5`.' }),
              }),
              { maxProperties: 128 },
            ),
          }),
          targets: obj({
            apps: map(policyNames({ circuitBreakerCacheSize: int({ minimum: 0 }) }), { maxProperties: 128 }),
            actors: map(policyNames({ circuitBreakerScope: str({ enum: ['id', 'type', 'both'] }), circuitBreakerCacheSize: int({ minimum: 0 }) }), { maxProperties: 128 }),
            components: map(
              obj({
                outbound: policyNames(),
                inbound: policyNames(),
                input: anyJson('Legacy name for inbound.'),
                output: anyJson('Legacy name for outbound.'),
              }),
              { maxProperties: 128 },
            ),
          }),
        },
        { required: ['policies', 'targets'], 'x-kubernetes-validations': rules },
      ),
    },
    { description: 'Resiliency declares retry, timeout and circuit-breaker policies and the targets that use them.' },
  );
}

export function resiliencyCrd(): CustomResourceDefinition {
  return daprCrd({
    kind: 'Resiliency',
    plural: 'resiliencies',
    shortNames: ['res', 'resiliency'],
    versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: resiliencySchema() }, additionalPrinterColumns: [{ name: 'Scopes', type: 'string', jsonPath: '.scopes' }, AGE_COLUMN] }],
  });
}

