import { status } from '@grpc/grpc-js';
import type { SpiffeId } from '@tsdapr/grpc';
import type { Logger } from '@tsdapr/runtime';
import { PlacementError, notLeaderError } from '../errors.js';
import type { Clock } from '@tsdapr/kube';
import type { RouterEvent, StreamHandle } from '../loops/events.js';
import type { PlacementOrder } from '../table/messages.js';
import { checkHost, type WireHost } from './check-host.js';
import { FloodGuard, type FloodLimits } from './flood-guard.js';
import { grpcStatusOf } from './grpc-status.js';

/** Where a served stream's events go: the namespaces loop of the current leadership term. */
export interface StreamSink {
  enqueue(event: RouterEvent): void;
}

export interface ReportDaprStatusOptions {
  /** The current term's sink while this replica leads; undefined while it follows. */
  readonly serving: () => StreamSink | undefined;
  readonly shuttingDown: () => boolean;
  readonly nodeId: string;
  /** mTLS on: every stream must carry a SPIFFE ID whose app id and namespace the Host messages must match. */
  readonly mtls: boolean;
  readonly floodLimits: FloodLimits;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told about every stream refused or ended by this edge, by reason. */
  readonly onRefused?: (error: PlacementError) => void;
}

/** The status a call ends with. */
export interface CallStatus {
  readonly code: status;
  readonly details: string;
}

/** One `ReportDaprStatus` call as the server edge hands it over. */
export interface PlacementCall {
  /** The remote address, for logs. */
  readonly peer: string;
  /** True once the call was finished, or the stream is gone. */
  readonly ended: boolean;
  /** The SPIFFE ID of the verified client certificate; undefined without one; throws when it has no valid SPIFFE ID. */
  peerIdentity(): SpiffeId | undefined;
  send(order: PlacementOrder): void;
  /** Ends the call with a status, once. */
  finish(status: CallStatus): void;
}

/** What the handler wants to hear about its call. */
export interface PlacementCallEvents {
  message(host: WireHost): void;
  /** The sidecar half-closed: it will send nothing more. */
  halfClosed(): void;
  /** The stream is gone (either side ended it, or the connection died). May come more than once. */
  closed(): void;
}

/**
 * `ReportDaprStatus`: the thin edge between a gRPC stream and the loops.
 * A follower or a shutting-down server refuses at once, before reading.
 * Otherwise every Host message is checked (dapr/dapr:pkg/placement/internal/authorizer@v1.17.5); the first must be a
 * REPORT and opens the stream in its namespace, later ones are reports or
 * acks. Whatever ends the stream (the client, a keepalive timeout, a loop,
 * a bad message) reaches the loops once as `stream-closed`.
 */
export function reportDaprStatusHandler(options: ReportDaprStatusOptions): (call: PlacementCall) => PlacementCallEvents {
  let nextStreamId = 1;
  const { logger } = options;
  const ignored: PlacementCallEvents = { message: () => undefined, halfClosed: () => undefined, closed: () => undefined };

  return (call) => {
    const refuse = (error: PlacementError): PlacementCallEvents => {
      options.onRefused?.(error);
      call.finish(grpcStatusOf(error));
      return ignored;
    };
    const sink = options.serving();
    if (options.shuttingDown()) return refuse(new PlacementError('shutting_down', 'placement server is shutting down'));
    if (!sink) return refuse(notLeaderError(options.nodeId));
    let peer: SpiffeId | undefined;
    if (options.mtls) {
      try {
        peer = call.peerIdentity();
      } catch (err) {
        logger.debug({ err, peer: call.peer }, 'stream refused: no valid client identity');
        return refuse(new PlacementError('unauthenticated', 'failed to get client ID from context', { cause: err }));
      }
      if (!peer) return refuse(new PlacementError('unauthenticated', 'failed to get client ID from context'));
    }

    const id = nextStreamId++;
    const guard = new FloodGuard(options.floodLimits);
    let namespace: string | undefined;
    let ended = false;
    let closeReported = false;

    const reportClosed = (): void => {
      ended = true;
      if (closeReported || namespace === undefined) return;
      closeReported = true;
      sink.enqueue({ type: 'stream-closed', streamId: id });
    };
    const handle: StreamHandle = {
      id,
      peer: call.peer,
      send(order) {
        if (!ended) call.send(order);
      },
      close(error) {
        if (ended) return;
        ended = true;
        call.finish(grpcStatusOf(error));
        reportClosed();
      },
    };
    const reject = (error: PlacementError): void => {
      logger.warn({ peer: handle.peer, namespace, code: error.code, reason: error.message }, 'closing placement stream');
      options.onRefused?.(error);
      handle.close(error);
    };

    return {
      message(message) {
        if (ended) return;
        if (!guard.take(options.clock.now())) {
          reject(new PlacementError('report_flood', `more than ${options.floodLimits.perSecond} messages a second`));
          return;
        }
        let checked;
        try {
          checked = checkHost(message, peer);
        } catch (err) {
          reject(err instanceof PlacementError ? err : new PlacementError('invalid_host', String(err), { cause: err }));
          return;
        }
        if (namespace === undefined) {
          if (checked.operation !== 'REPORT' && checked.operation !== 'UNKNOWN') {
            reject(new PlacementError('invalid_host', `the first message of a stream must be a REPORT, got ${checked.operation}`));
            return;
          }
          namespace = checked.host.namespace;
          logger.info({ namespace, id: checked.host.id, host: checked.host.name, entities: checked.host.entities.length, peer: handle.peer }, 'sidecar connected');
          sink.enqueue({ type: 'stream-connected', stream: handle, host: checked.host });
          return;
        }
        if (checked.host.namespace !== namespace) {
          reject(new PlacementError('namespace_changed', `this stream reports for namespace ${namespace}, not ${checked.host.namespace}`));
          return;
        }
        if (checked.operation === 'REPORT') sink.enqueue({ type: 'host-reported', streamId: id, host: checked.host });
        else sink.enqueue({ type: 'ack', streamId: id, operation: checked.operation, version: checked.version, host: checked.host });
      },
      halfClosed() {
        // The sidecar will send nothing more, so the stream is done.
        if (!ended) {
          ended = true;
          call.finish({ code: status.OK, details: '' });
        }
        reportClosed();
      },
      closed: reportClosed,
    };
  };
}
