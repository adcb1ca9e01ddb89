import type { ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { grpcServer, placementService } from '@tsdapr/grpc';
import type { Logger, Runner } from '@tsdapr/runtime';
import { decodeHost } from './host-codec.js';
import type { PlacementCall } from './report-dapr-status.js';

export interface PlacementServerOptions {
  /** host:port; port 0 picks a free one (see onBound). */
  readonly address: string;
  readonly credentials: ServerCredentials;
  /** Upstream `--keepalive-time`: the server pings every stream's connection this often... */
  readonly keepaliveTimeMs: number;
  /** ...and drops it when a ping is not answered within `--keepalive-timeout`: the only liveness signal. */
  readonly keepaliveTimeoutMs: number;
  readonly handler: (call: PlacementCall) => void;
  readonly logger: Logger;
  readonly onBound?: (port: number) => void;
}

/** The `dapr.proto.placement.v1.Placement` gRPC server as a runner. */
export function placementServer(options: PlacementServerOptions): Runner {
  const implementation: UntypedServiceImplementation = { ReportDaprStatus: options.handler };
  return grpcServer({
    name: 'placement',
    address: options.address,
    credentials: options.credentials,
    services: [{ service: withPlacementCodecs(placementService().service), implementation }],
    channelOptions: {
      'grpc.keepalive_time_ms': options.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    },
    // Streams are closed by the loops' shutdown before this drain begins.
    drainMs: 2000,
    logger: options.logger,
    ...(options.onBound ? { onBound: options.onBound } : {}),
  });
}

/**
 * The upstream service definition with two shortcuts for scale. A round
 * sends one order object to every stream of a namespace, and the `update`
 * carries the whole table: it is encoded once per round, not once per
 * stream. Host messages (three per stream per round) are decoded by a
 * small dedicated decoder rather than the generic one.
 */
export function withPlacementCodecs(service: ServiceDefinition): ServiceDefinition {
  const method = service.ReportDaprStatus;
  if (!method) throw new Error('the placement service has no ReportDaprStatus method');
  const encoded = new WeakMap<object, Buffer>();
  const serialize = method.responseSerialize;
  return {
    ...service,
    ReportDaprStatus: {
      ...method,
      requestDeserialize: decodeHost,
      responseSerialize: (order: unknown): Buffer => {
        if (typeof order !== 'object' || order === null) return serialize(order);
        let bytes = encoded.get(order);
        if (!bytes) {
          bytes = serialize(order);
          encoded.set(order, bytes);
        }
        return bytes;
      },
    },
  };
}
