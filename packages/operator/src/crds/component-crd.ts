import { daprCrd, AGE_COLUMN, type CustomResourceDefinition } from './crd.js';
import { arr, auth, bool, duration, MAX_NAME, nameValuePair, obj, scopes, str, typeMeta, int, type JsonSchema } from './json-schema.js';

/**
 * Component type prefixes: the building-block categories daprd knows.
 * `crypto.` is upstream's spelling; `cryptography.` is accepted as well.
 */
export const COMPONENT_CATEGORIES = [
  'bindings',
  'configuration',
  'conversation',
  'crypto',
  'cryptography',
  'lock',
  'middleware.http',
  'nameresolution',
  'pubsub',
  'secretstores',
  'state',
  'workflow',
  'workflowbackend',
] as const;

export const COMPONENT_TYPE_PATTERN = `^(${COMPONENT_CATEGORIES.map((c) => c.replace('.', '\\.')).join('|')})\\.[A-Za-z0-9][-A-Za-z0-9_.]*$`;

const condition = (): JsonSchema =>
  obj(
    {
      type: str({ maxLength: 316 }),
      status: str({ enum: ['True', 'False', 'Unknown'] }),
      reason: str({ maxLength: 1024 }),
      message: str({ maxLength: 32768 }),
      lastTransitionTime: str({ format: 'date-time' }),
      observedGeneration: int({ minimum: 0 }),
    },
    { required: ['type', 'status'] },
  );

export function componentSchema(): JsonSchema {
  return obj(
    {
      ...typeMeta(),
      auth: auth(),
      scopes: scopes(),
      spec: obj(
        {
          type: str({
            maxLength: MAX_NAME,
            description: 'The component type, `<category>.<name>` such as `state.redis` or `middleware.http.oauth2`.',
            'x-kubernetes-validations': [
              {
                rule: `self.matches(r'${COMPONENT_TYPE_PATTERN}')`,
                messageExpression: `'spec.type "' + self + '" must start with a component category: ${COMPONENT_CATEGORIES.map((c) => `${c}.`).join(', ')} (for example state.redis)'`,
              },
            ],
          }),
          version: str({ maxLength: 64, description: 'The component version, for example v1.' }),
          ignoreErrors: bool(),
          initTimeout: duration('How long daprd waits for the component to initialise.'),
          metadata: arr(nameValuePair('metadata entry'), { maxItems: 256 }),
        },
        { required: ['type', 'version'] },
      ),
      status: obj({
        conditions: arr(condition(), { maxItems: 32 }),
        appsInScope: arr(str({ maxLength: 63 }), { maxItems: 1024, description: 'App IDs in scope whose Dapr-enabled Deployment or StatefulSet in the namespace is scaled above zero.' }),
      }),
    },
    { description: 'Component describes a Dapr component.' },
  );
}

export function componentCrd(): CustomResourceDefinition {
  return daprCrd({
    kind: 'Component',
    plural: 'components',
    shortNames: ['comp', 'comps'],
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: componentSchema() },
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Type', type: 'string', jsonPath: '.spec.type' },
          { name: 'Version', type: 'string', jsonPath: '.spec.version' },
          { name: 'Scopes', type: 'string', jsonPath: '.scopes' },
          // Beyond upstream: the status the operator writes.
          { name: 'Valid', type: 'string', jsonPath: '.status.conditions[?(@.type=="Valid")].status' },
          { name: 'Apps', type: 'string', jsonPath: '.status.appsInScope', description: 'App IDs in scope whose Dapr-enabled workload is scaled above zero' },
          AGE_COLUMN,
        ],
      },
    ],
  });
}
