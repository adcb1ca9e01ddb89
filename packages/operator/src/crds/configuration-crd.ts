import { daprCrd, AGE_COLUMN, type CustomResourceDefinition } from './crd.js';
import { arr, bool, duration, map, obj, secretKeyRef, str, typeMeta, type JsonSchema } from './json-schema.js';

const open = { 'x-kubernetes-preserve-unknown-fields': true } as const;

/**
 * Configuration is broad and grows every release, so the schema types the
 * fields the control plane reads and keeps the rest (preserve-unknown-fields)
 * rather than pruning what a newer daprd understands.
 */
export function configurationSchema(): JsonSchema {
  return obj(
    {
      ...typeMeta(),
      spec: obj(
        {
          mtls: obj(
            {
              enabled: bool(),
              workloadCertTTL: duration('Lifetime of workload certificates (default 24h).'),
              allowedClockSkew: duration('Backdating of certificate not-before (default 15m).'),
              sentryAddress: str(),
              controlPlaneTrustDomain: str({ maxLength: 253 }),
              tokenValidators: arr(obj({ name: str({ maxLength: 64 }), options: { type: 'object', ...open } }, { required: ['name'] }), { maxItems: 16 }),
            },
            open,
          ),
          tracing: obj(
            {
              samplingRate: str({ maxLength: 32, 'x-kubernetes-validations': [{ rule: "self == '' || self.matches(r'^[0-9]*\\.?[0-9]+$')", message: 'samplingRate must be a number between 0 and 1, such as "1" or "0.25"' }] }),
              stdout: bool(),
              otel: obj(
                {
                  endpointAddress: str(),
                  isSecure: bool(),
                  protocol: str({ maxLength: 16 }),
                  headers: arr(obj({ name: str({ maxLength: 253 }), value: str(), secretKeyRef: secretKeyRef() }, { required: ['name'] }), { maxItems: 64 }),
                  timeout: duration(),
                },
                open,
              ),
            },
            open,
          ),
          accessControl: obj({ defaultAction: str({ maxLength: 16 }), trustDomain: str({ maxLength: 253 }), policies: { type: 'array', items: { type: 'object', ...open } } }, open),
          features: arr(obj({ name: str({ maxLength: 253 }), enabled: bool() }, { required: ['name', 'enabled'] }), { maxItems: 128 }),
          secrets: { type: 'object', ...open },
          metric: { type: 'object', ...open },
          metrics: { type: 'object', ...open },
          httpPipeline: { type: 'object', ...open },
          appHttpPipeline: { type: 'object', ...open },
          nameResolution: { type: 'object', ...open },
          api: { type: 'object', ...open },
          logging: { type: 'object', ...open },
          components: { type: 'object', ...open },
          wasm: { type: 'object', ...open },
          workflow: { type: 'object', ...open },
          labels: map(str()),
        },
        open,
      ),
    },
    { description: 'Configuration describes a Dapr runtime configuration (daprd) or the control plane (daprsystem).' },
  );
}

export function configurationCrd(): CustomResourceDefinition {
  return daprCrd({
    kind: 'Configuration',
    plural: 'configurations',
    shortNames: ['daprconfig', 'dconf'],
    versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: configurationSchema() }, additionalPrinterColumns: [AGE_COLUMN] }],
  });
}
