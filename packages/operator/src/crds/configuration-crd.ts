import { daprCrd, AGE_COLUMN, type CustomResourceDefinition } from './crd.js';
import { anyJson, arr, bool, duration, map, obj, secretKeyRef, str, typeMeta, type JsonSchema } from './json-schema.js';

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
              controlPlaneTrustDomain: str(),
              tokenValidators: arr(obj({ name: str(), options: { type: 'object', ...open } }, { required: ['name'] })),
            },
            open,
          ),
          tracing: obj(
            {
              samplingRate: str(),
              stdout: bool(),
              otel: obj(
                {
                  endpointAddress: str(),
                  isSecure: bool(),
                  protocol: str(),
                  headers: arr(obj({ name: str(), value: anyJson('The value, any JSON.'), secretKeyRef: secretKeyRef() }, { required: ['name'] })),
                  timeout: duration(),
                },
                open,
              ),
            },
            open,
          ),
          accessControl: obj({ defaultAction: str(), trustDomain: str(), policies: { type: 'array', items: { type: 'object', ...open } } }, open),
          features: arr(obj({ name: str(), enabled: bool() }, { required: ['name', 'enabled'] })),
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
