import { daprCrd, AGE_COLUMN, type CustomResourceDefinition, type WebhookConversion } from './crd.js';
import { arr, bool, int, map, obj, scopes, str, typeMeta, type JsonSchema } from './json-schema.js';

/** Where the API server sends ConversionReviews: the operator's webhook Service (patched at run time). */
export const CONVERSION_SERVICE = { namespace: 'dapr-system', name: 'dapr-webhook', path: '/convert', port: 443 } as const;

const bulkSubscribe = (): JsonSchema =>
  obj(
    {
      enabled: bool(),
      maxMessagesCount: int({ format: 'int32' }),
      maxAwaitDurationMs: int({ format: 'int32' }),
    },
    { required: ['enabled'] },
  );

const common = (): Record<string, JsonSchema> => ({
  pubsubname: str({ description: 'The pub/sub component name.' }),
  topic: str({ description: 'The topic to subscribe to.' }),
  metadata: map(str(), { description: 'Metadata passed to the pub/sub component.' }),
  deadLetterTopic: str(),
  bulkSubscribe: bulkSubscribe(),
});

export function subscriptionV1alpha1Schema(): JsonSchema {
  return obj({ ...typeMeta(), scopes: scopes(), spec: obj({ ...common(), route: str({ description: 'The path events are delivered to.' }) }, { required: ['pubsubname', 'topic', 'route'] }) }, { description: 'Subscription (v1alpha1): one route per topic.' });
}

export function subscriptionV2alpha1Schema(): JsonSchema {
  return obj(
    {
      ...typeMeta(),
      scopes: scopes(),
      spec: obj(
        {
          ...common(),
          routes: obj(
            {
              rules: arr(obj({ match: str({ description: 'A CEL expression over the CloudEvent; empty matches every event.' }), path: str() }, { required: ['match', 'path'] })),
              default: str(),
            },
          ),
        },
        { required: ['pubsubname', 'topic', 'routes'] },
      ),
    },
    { description: 'Subscription (v2alpha1): routing rules per topic.' },
  );
}

export function subscriptionConversion(): WebhookConversion {
  return { strategy: 'Webhook', webhook: { clientConfig: { service: { ...CONVERSION_SERVICE } }, conversionReviewVersions: ['v1', 'v1beta1'] } };
}

export function subscriptionCrd(): CustomResourceDefinition {
  const columns = [
    { name: 'PubSub', type: 'string', jsonPath: '.spec.pubsubname' },
    { name: 'Topic', type: 'string', jsonPath: '.spec.topic' },
    { name: 'Scopes', type: 'string', jsonPath: '.scopes' },
    AGE_COLUMN,
  ] as const;
  return daprCrd({
    kind: 'Subscription',
    plural: 'subscriptions',
    shortNames: ['sub', 'subs'],
    versions: [
      { name: 'v1alpha1', served: true, storage: false, schema: { openAPIV3Schema: subscriptionV1alpha1Schema() }, additionalPrinterColumns: columns },
      { name: 'v2alpha1', served: true, storage: true, schema: { openAPIV3Schema: subscriptionV2alpha1Schema() }, additionalPrinterColumns: columns },
    ],
    conversion: subscriptionConversion(),
  });
}
