import { daprCrd, AGE_COLUMN, type CustomResourceDefinition } from './crd.js';
import { anyJson, duration, int, map, obj, resiliencyTimeout, scopes, str, typeMeta, type JsonSchema } from './json-schema.js';

const policyNames = (extra: Record<string, JsonSchema> = {}, options: { anyOf?: readonly JsonSchema[] } = {}): JsonSchema =>
  obj(
    {
      retry: str(),
      timeout: str(),
      circuitBreaker: str(),
      ...extra,
    },
    options,
  );

/**
 * Only what daprd 1.17 cannot load: it drops the whole Resiliency ("Could not
 * read resiliency policy <name>: ...", `dapr/dapr:pkg/resiliency/resiliency.go@v1.17.5`)
 * for an actor target with a circuitBreaker and no valid circuitBreakerScope
 * ("actor circuit breakers must include scope", "unknown circuit breaker
 * scope"). A value validation, not CEL: CEL's cost budget would need length
 * and size bounds upstream does not have. A target naming a policy not
 * defined here loads (daprd ignores the name), so it is not refused.
 */
const ACTOR_SCOPE: readonly JsonSchema[] = [
  { not: { required: ['circuitBreaker'] } },
  { properties: { circuitBreaker: { maxLength: 0 } } },
  { required: ['circuitBreakerScope'], properties: { circuitBreakerScope: { enum: ['id', 'type', 'both'] } } },
];

export function resiliencySchema(): JsonSchema {
  return obj(
    {
      ...typeMeta(),
      scopes: scopes(),
      spec: obj(
        {
          policies: obj({
            timeouts: map(resiliencyTimeout()),
            retries: map(
              obj({
                // daprd 1.17: 'invalid PolicyType "linear": unexpected back off policy type', and drops the Resiliency.
                policy: str({ enum: ['constant', 'exponential'] }),
                duration: duration(),
                maxInterval: duration(),
                maxRetries: int(),
                matching: obj({ httpStatusCodes: str(), gRPCStatusCodes: str() }),
              }),
            ),
            circuitBreakers: map(
              obj({
                // daprd 1.17: "cannot parse 'maxRequests', -1.000000 overflows uint", and drops the Resiliency.
                maxRequests: int({ minimum: 0 }),
                interval: duration(),
                timeout: duration(),
                trip: str({ description: 'A CEL expression over the request counts, for example `consecutiveFailures > 5`.' }),
              }),
            ),
          }),
          targets: obj({
            // daprd 1.17: a negative circuitBreakerCacheSize is "must provide a positive size", and drops the Resiliency (0 means the default).
            apps: map(policyNames({ circuitBreakerCacheSize: int({ minimum: 0 }) })),
            actors: map(policyNames({ circuitBreakerScope: str({ description: 'id, type or both; required with a circuitBreaker.' }), circuitBreakerCacheSize: int({ minimum: 0 }) }, { anyOf: ACTOR_SCOPE })),
            components: map(
              obj({
                outbound: policyNames(),
                inbound: policyNames(),
                input: anyJson('Legacy name for inbound.'),
                output: anyJson('Legacy name for outbound.'),
              }),
            ),
          }),
        },
        { required: ['policies', 'targets'] },
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

