import { daprCrd, AGE_COLUMN, type CustomResourceDefinition } from './crd.js';
import { arr, auth, bool, duration, nameValuePair, obj, scopes, str, typeMeta, int, type JsonSchema } from './json-schema.js';

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
          // Any string, as upstream: a type whose category daprd does not know is a webhook warning (issue #19).
          type: str({ description: 'The component type, `<category>.<name>` such as `state.redis` or `middleware.http.oauth2`.' }),
          version: str({ description: 'The component version, for example v1.' }),
          ignoreErrors: bool(),
          initTimeout: duration('How long daprd waits for the component to initialise.'),
          metadata: arr(nameValuePair('metadata entry')),
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
