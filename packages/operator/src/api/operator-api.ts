import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { errorCode, type Logger } from '@tsdapr/runtime';
import type { ChangeFeed } from '../resources/change-feed.js';
import { keyOf, resourcePayload, inScope, type DaprResource, type ResourceKind } from '../resources/dapr-resource.js';
import { scopedEvent, type ResourceChange } from '../resources/scoped-event.js';
import { resolveComponentSecrets, resolveConfigurationSecrets, resolveHttpEndpointSecrets, SecretResolutionError, type SecretReader } from '../resources/secret-resolution.js';
import type { OperatorMetrics } from '../metrics.js';
import { ApiError, toServiceError } from './api-error.js';
import { authorizeCaller, type Caller } from './caller.js';

/** Read access to one kind's informer cache. */
export interface ResourceStore {
  list(namespace?: string): DaprResource[];
  get(namespace: string, name: string): DaprResource | undefined;
}

export interface OperatorApiDeps {
  readonly stores: Readonly<Record<ResourceKind, ResourceStore>>;
  readonly feeds: { readonly Component: ChangeFeed; readonly Subscription: ChangeFeed; readonly HTTPEndpoint: ChangeFeed };
  readonly readSecret: SecretReader;
  readonly metrics: OperatorMetrics;
  readonly logger: Logger;
  /** Aborts at shutdown: open streams end with UNAVAILABLE, and daprd reconnects elsewhere. */
  readonly signal: AbortSignal;
}

type Resolver = (resource: DaprResource, namespace: string) => Promise<DaprResource>;

const byName = (a: DaprResource, b: DaprResource): number => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

/** `dapr.proto.operator.v1.Operator` (upstream v1.17 protos) over the informer caches. */
export function createOperatorApi(deps: OperatorApiDeps): UntypedServiceImplementation {
  const logger = deps.logger;

  /**
   * Resolves one resource's secrets; a failure leaves only that resource out
   * (upstream fails the whole list, issue #6064), logged and counted once.
   */
  const resolveOrSkip = async (kind: ResourceKind, resource: DaprResource, namespace: string, resolve: Resolver): Promise<DaprResource | undefined> => {
    try {
      return await resolve(resource, namespace);
    } catch (err) {
      if (!(err instanceof SecretResolutionError)) throw err;
      deps.metrics.secretResolutionFailures.inc({ namespace, kind, name: resource.metadata?.name ?? '', secret: err.secretName, code: err.code });
      logger.error({ err, kind, namespace, name: resource.metadata?.name, secret: err.secretName }, `${kind} left out: ${err.message}`);
      return undefined;
    }
  };

  /**
   * A changed object goes to many streams: its secrets are resolved and it is
   * serialized once, and every stream sends the same bytes. Keyed by the
   * cache's object, so the entry goes when a newer version replaces it.
   */
  const streamPayloads = new WeakMap<DaprResource, Promise<Buffer | undefined>>();
  const streamPayload = (kind: ResourceKind, resource: DaprResource, namespace: string, resolve: Resolver | undefined): Promise<Buffer | undefined> => {
    let payload = streamPayloads.get(resource);
    if (!payload) {
      payload = (async () => {
        const resolved = resolve ? await resolveOrSkip(kind, resource, namespace, resolve) : resource;
        return resolved && resourcePayload(resolved);
      })();
      streamPayloads.set(resource, payload);
    }
    return payload;
  };

  /** One abort listener for every open stream (a listener per stream trips MaxListenersExceededWarning past 10). */
  const onShutdown = new Set<() => void>();
  deps.signal.addEventListener('abort', () => {
    for (const end of [...onShutdown]) end();
  }, { once: true });

  const unary = <Req, Res>(name: string, handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>) => {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      Promise.resolve()
        .then(() => handler(call.request, call))
        .then(
        (response) => callback(null, response),
        (err: unknown) => {
          const serviceError = toServiceError(err);
          if (serviceError.code === status.INTERNAL) logger.error({ err, rpc: name }, 'operator API call failed');
          else logger.debug({ rpc: name, code: errorCode(err), message: serviceError.details }, 'operator API call refused');
          callback(serviceError);
        },
      );
    };
  };

  const listResolved = async (kind: ResourceKind, caller: Caller, resolve: Resolver | undefined, scoped: boolean): Promise<Buffer[]> => {
    const resources = deps.stores[kind].list(caller.namespace).filter((r) => !scoped || inScope(r, caller.appId)).sort(byName);
    const out: Buffer[] = [];
    for (const resource of resources) {
      const resolved = resolve ? await resolveOrSkip(kind, resource, caller.namespace, resolve) : resource;
      if (resolved) out.push(resourcePayload(resolved));
    }
    return out;
  };

  /**
   * An update stream: changes only (no snapshot), the caller's namespace
   * only, scope-aware, secrets resolved per event, sends serialized in order.
   */
  const stream = <Req extends { namespace?: string }>(
    kind: 'Component' | 'Subscription' | 'HTTPEndpoint',
    resolve: Resolver | undefined,
    toMessage: (payload: Buffer, type: string) => Record<string, unknown>,
  ) => {
    return (call: ServerWritableStream<Req, unknown>): void => {
      let caller: Caller;
      try {
        caller = authorizeCaller(call, call.request.namespace);
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      const log = logger.child({ stream: kind, namespace: caller.namespace, appId: caller.appId });
      log.info('update stream opened');
      deps.metrics.openStreams.inc({ kind });
      let queue = Promise.resolve();
      const send = (change: ResourceChange): void => {
        if (change.current.metadata?.namespace !== caller.namespace) return;
        const event = scopedEvent(change, caller.appId);
        if (!event) return;
        queue = queue.then(async () => {
          if (call.cancelled || call.destroyed) return;
          const payload = await streamPayload(kind, event.resource, caller.namespace, resolve);
          if (!payload || call.cancelled || call.destroyed) return;
          log.debug({ type: event.type, name: keyOf(event.resource) }, 'sending event');
          call.write(toMessage(payload, event.type));
        }).catch((err: unknown) => log.error({ err }, 'sending an update failed'));
      };
      const unsubscribe = deps.feeds[kind].subscribe(send);
      const shutdown = (): void => {
        call.emit('error', { code: status.UNAVAILABLE, details: 'operator is shutting down' });
      };
      onShutdown.add(shutdown);
      const close = (): void => {
        unsubscribe();
        onShutdown.delete(shutdown);
        deps.metrics.openStreams.dec({ kind });
        log.info('update stream closed');
      };
      let closed = false;
      const closeOnce = (): void => {
        if (!closed) {
          closed = true;
          close();
        }
      };
      call.on('cancelled', closeOnce);
      call.on('close', closeOnce);
      call.on('finish', closeOnce);
      call.on('error', closeOnce);
      if (deps.signal.aborted) shutdown();
    };
  };

  const readSecret = deps.readSecret;
  const components: Resolver = (r, ns) => resolveComponentSecrets(r, ns, readSecret);
  const endpoints: Resolver = (r, ns) => resolveHttpEndpointSecrets(r, ns, readSecret);

  type NsRequest = { namespace?: string };
  type NamedRequest = { name?: string; namespace?: string };

  const listSubscriptionsV2 = async (request: NsRequest, call: ServerUnaryCall<NsRequest, unknown>) => {
    const caller = authorizeCaller(call, request.namespace);
    return { subscriptions: await listResolved('Subscription', caller, undefined, false) };
  };

  return {
    ListComponents: unary('ListComponents', async (request: NsRequest, call) => {
      const caller = authorizeCaller(call, request.namespace);
      return { components: await listResolved('Component', caller, components, true) };
    }),
    ComponentUpdate: stream('Component', components, (component, type) => ({ component, type })),
    GetConfiguration: unary('GetConfiguration', async (request: NamedRequest, call) => {
      const caller = authorizeCaller(call, request.namespace);
      if (!request.name) throw new ApiError('invalid_argument', 'name is required');
      const configuration = deps.stores.Configuration.get(caller.namespace, request.name);
      if (!configuration) throw new ApiError('not_found', `error getting configuration ${caller.namespace}/${request.name}: not found`);
      try {
        return { configuration: resourcePayload(await resolveConfigurationSecrets(configuration, caller.namespace, readSecret)) };
      } catch (err) {
        if (err instanceof SecretResolutionError) throw new ApiError('secret_not_found', err.message, { cause: err });
        throw err;
      }
    }),
    // Upstream calls V2 with an empty namespace, so this always fails authorization.
    ListSubscriptions: unary('ListSubscriptions', (_request: unknown, call) => listSubscriptionsV2({ namespace: '' }, call as ServerUnaryCall<NsRequest, unknown>)),
    ListSubscriptionsV2: unary('ListSubscriptionsV2', listSubscriptionsV2),
    SubscriptionUpdate: stream('Subscription', undefined, (subscription, type) => ({ subscription, type })),
    GetResiliency: unary('GetResiliency', (request: NamedRequest, call) => {
      const caller = authorizeCaller(call, request.namespace);
      if (!request.name) throw new ApiError('invalid_argument', 'name is required');
      const resiliency = deps.stores.Resiliency.get(caller.namespace, request.name);
      if (!resiliency) throw new ApiError('not_found', `error getting resiliency ${caller.namespace}/${request.name}: not found`);
      return { resiliency: resourcePayload(resiliency) };
    }),
    ListResiliency: unary('ListResiliency', async (request: NsRequest, call) => {
      const caller = authorizeCaller(call, request.namespace);
      return { resiliencies: await listResolved('Resiliency', caller, undefined, false) };
    }),
    ListHTTPEndpoints: unary('ListHTTPEndpoints', async (request: NsRequest, call) => {
      const caller = authorizeCaller(call, request.namespace);
      return { http_endpoints: await listResolved('HTTPEndpoint', caller, endpoints, false) };
    }),
    // v1.17's HTTPEndpointUpdateEvent has no type field; the type is dropped.
    HTTPEndpointUpdate: stream('HTTPEndpoint', endpoints, (http_endpoints) => ({ http_endpoints })),
  };
}
