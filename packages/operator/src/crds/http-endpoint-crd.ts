import { daprCrd, AGE_COLUMN, type CustomResourceDefinition } from './crd.js';
import { anyJson, arr, auth, nameValuePair, obj, scopes, secretKeyRef, str, typeMeta, type JsonSchema } from './json-schema.js';

const tlsDocument = (): JsonSchema => obj({ value: anyJson('PEM, inline.'), secretKeyRef: secretKeyRef() });

export function httpEndpointSchema(): JsonSchema {
  return obj(
    {
      ...typeMeta(),
      auth: auth(),
      scopes: scopes(),
      spec: obj(
        {
          baseUrl: str({ description: 'The base URL of the external service.' }),
          headers: arr(nameValuePair('header')),
          clientTLS: obj({ rootCA: tlsDocument(), certificate: tlsDocument(), privateKey: tlsDocument(), renegotiation: str({ enum: ['Never', 'OnceAsClient', 'FreelyAsClient'] }) }),
        },
        { required: ['baseUrl'] },
      ),
    },
    { description: 'HTTPEndpoint describes an external HTTP service Dapr can invoke.' },
  );
}

export function httpEndpointCrd(): CustomResourceDefinition {
  return daprCrd({
    kind: 'HTTPEndpoint',
    plural: 'httpendpoints',
    shortNames: ['httpep'],
    versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: httpEndpointSchema() }, additionalPrinterColumns: [{ name: 'Base URL', type: 'string', jsonPath: '.spec.baseUrl' }, { name: 'Scopes', type: 'string', jsonPath: '.scopes' }, AGE_COLUMN] }],
  });
}
