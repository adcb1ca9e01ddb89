import type { ServerDuplexStream } from '@grpc/grpc-js';
import { peerSpiffeId, type SpiffeId } from '@tsdapr/grpc';
import type { Logger } from '@tsdapr/runtime';
import { PlacementError, notLeaderError } from '../errors.js';
import type { Clock } from '../loops/clock.js';
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

export type PlacementCall = ServerDuplexStream<WireHost, PlacementOrder>;

/**
 * `ReportDaprStatus`: the thin edge between a gRPC stream and the loops.
 * A follower or a shutting-down server refuses at once, before reading.
 * Otherwise every Host message is checked (spec §3.4); the first must be a
 * REPORT and opens the stream in its namespace, later ones are reports or
 * acks. Whatever ends the stream (the client, a keepalive timeout, a loop,
 * a bad message) reaches the loops once as `stream-closed`.
 */
export function reportDaprStatusHandler(options: ReportDaprStatusOptions): (call: PlacementCall) => void {
  let nextStreamId = 1;
  const { logger } = options;

  return (call) => {
    const refuse = (error: PlacementError): void => {
      options.onRefused?.(error);
      endWithStatus(call, error);
    };
    const sink = options.serving();
    if (options.shuttingDown()) {
      refuse(new PlacementError('shutting_down', 'placement server is shutting down'));
      return;
    }
    if (!sink) {
      refuse(notLeaderError(options.nodeId));
      return;
    }
    let peer: SpiffeId | undefined;
    if (options.mtls) {
      try {
        peer = peerSpiffeId(call);
      } catch (err) {
        logger.debug({ err, peer: call.getPeer() }, 'stream refused: no client identity');
        refuse(new PlacementError('unauthenticated', 'failed to get client ID from context', { cause: err }));
        return;
      }
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
      peer: call.getPeer(),
      send(order) {
        if (!ended) call.write(order);
      },
      close(error) {
        if (ended) return;
        ended = true;
        endWithStatus(call, error);
        reportClosed();
      },
    };
    const reject = (error: PlacementError): void => {
      logger.warn({ peer: handle.peer, namespace, code: error.code, reason: error.message }, 'closing placement stream');
      options.onRefused?.(error);
      handle.close(error);
    };

    call.on('data', (message: WireHost) => {
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
    });
    call.on('end', () => {
      // The sidecar half-closed: it will send nothing more, so the stream is done.
      if (!ended) {
        ended = true;
        if (!call.writableEnded) call.end();
      }
      reportClosed();
    });
    call.on('cancelled', reportClosed);
    call.on('error', (err: unknown) => {
      // Our own endWithStatus comes back here too; only a transport error is news.
      if (!ended) logger.debug({ err, peer: handle.peer, namespace }, 'placement stream failed');
      reportClosed();
    });
    call.on('close', reportClosed);
  };
}

/** Ends a call with the error's status (grpc-js turns an emitted error into the trailing status). */
function endWithStatus(call: PlacementCall, error: PlacementError): void {
  if (call.destroyed || call.writableEnded) return;
  call.emit('error', grpcStatusOf(error));
}

