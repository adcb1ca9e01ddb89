import { createSecureServer, createServer, constants, type Http2Server, type Http2Session, type IncomingHttpHeaders, type SecureServerOptions, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { status as grpcStatus } from '@grpc/grpc-js';
import { placementService, spiffeIdFromSubjectAltName, type SpiffeId, type TlsMaterial } from '@tsdapr/grpc';
import { listen, type Logger, type Runner } from '@tsdapr/runtime';
import type { PlacementOrder } from '../table/messages.js';
import { GrpcFrameError, GrpcMessageReader, encodeGrpcMessage, frameMessage } from './grpc-frames.js';
import { decodeHost } from './host-codec.js';
import type { PlacementCall, PlacementCallEvents, CallStatus } from './report-dapr-status.js';

export interface PlacementServerOptions {
  /** host:port; port 0 picks a free one (see onBound). */
  readonly address: string;
  /** mTLS with this (rotating) certificate and trust anchors, client certificates required; undefined: plaintext. */
  readonly tls: TlsMaterial | undefined;
  /** Upstream `--keepalive-time`: the server pings every stream's connection this often... */
  readonly keepaliveTimeMs: number;
  /** ...and drops it when a ping is not answered within `--keepalive-timeout`: the only liveness signal. */
  readonly keepaliveTimeoutMs: number;
  readonly handler: (call: PlacementCall) => PlacementCallEvents;
  readonly logger: Logger;
  readonly onBound?: (port: number) => void;
  /** How long connections may finish after the signal before they are cut. */
  readonly drainMs?: number;
}

const METHOD = placementService().service.ReportDaprStatus!;
const GRPC_CONTENT_TYPE = 'application/grpc';

/**
 * The `dapr.proto.placement.v1.Placement` service on `node:http2` directly,
 * as a runner. It serves one bidirectional method, so the whole of gRPC it
 * needs is small: length-prefixed messages on one HTTP/2 stream, a status
 * in the trailers, server keepalive pings. What it buys at thousands of
 * sidecars: a round sends one order object to every stream of a namespace,
 * and its bytes (the `update` carries the whole table) are encoded and
 * framed once per round and handed as the same Buffer to every stream;
 * grpc-js copied each message into a fresh frame per stream and ran every
 * message through its interceptor and object-stream layers (at 1,000
 * sidecars that was over half of placement's CPU per round). Received Host
 * messages are decoded by the dedicated decoder.
 */
export function placementServer(options: PlacementServerOptions): Runner {
  return async (signal) => {
    const framed = new WeakMap<PlacementOrder, Buffer>();
    const encode = (order: PlacementOrder): Buffer => {
      let bytes = framed.get(order);
      if (!bytes) {
        bytes = frameMessage(METHOD.responseSerialize(order));
        framed.set(order, bytes);
      }
      return bytes;
    };
    const { logger } = options;
    const sessions = new Set<Http2Session>();
    const server = options.tls ? secureServer(options.tls, logger) : createServer();
    const keepAlive = new KeepAlive(options.keepaliveTimeMs, options.keepaliveTimeoutMs);
    server.on('close', () => keepAlive.stop());
    server.on('session', (session) => {
      sessions.add(session);
      keepAlive.add(session);
      session.on('close', () => sessions.delete(session));
      session.on('error', (err) => logger.debug({ err }, 'placement connection failed'));
    });
    server.on('stream', (stream, headers) => serveStream(stream, headers, options.handler, encode, logger));
    server.on('sessionError', (err) => logger.debug({ err }, 'placement connection failed'));
    server.on('tlsClientError', (err) => logger.debug({ err }, 'placement TLS handshake failed'));

    const { host, port } = splitAddress(options.address);
    try {
      await listen(server, port, host);
    } catch (err) {
      keepAlive.stop();
      throw err;
    }
    const bound = (server.address() as AddressInfo).port;
    logger.info({ server: 'placement', port: bound, tls: options.tls !== undefined }, 'gRPC server listening');
    options.onBound?.(bound);

    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    // Streams are closed by the loops' shutdown before this drain begins.
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        logger.warn({ server: 'placement', connections: sessions.size }, 'drain timed out; closing open connections');
        for (const session of sessions) session.destroy();
      }, options.drainMs ?? 2000);
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      for (const session of sessions) session.close();
    });
  };
}

/** TLS 1.2+, client certificates required and checked against the anchors; a rotated certificate or anchor set applies to new connections. */
function secureServer(material: TlsMaterial, logger: Logger): Http2Server {
  const context = (): SecureServerOptions => {
    const identity = material.currentIdentity;
    if (!identity || material.trustAnchorsPem === undefined) throw new Error('placement serving identity is not loaded');
    return { cert: identity.certificateChainPem, key: identity.privateKeyPem, ca: material.trustAnchorsPem };
  };
  const server = createSecureServer({ ...context(), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  const reload = (): void => {
    try {
      server.setSecureContext(context());
    } catch (err) {
      logger.error({ err }, 'placement could not apply its new serving certificate; keeping the previous one');
    }
  };
  material.addIdentityCertificateListener(reload);
  material.addCaCertificateListener(reload);
  server.on('close', () => {
    material.removeIdentityCertificateListener(reload);
    material.removeCaCertificateListener(reload);
  });
  return server;
}

/**
 * Server keepalive as grpc servers do it: ping every connection every
 * `intervalMs` and destroy one whose answer takes longer than `timeoutMs`.
 * One sweep timer serves all connections (thousands of per-connection
 * interval and deadline timers cost more than the pings); a dead connection
 * is dropped at most one sweep period after its deadline.
 */
class KeepAlive {
  private readonly pings = new Map<Http2Session, { sentAt: number; answered: boolean }>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {
    this.sweep = setInterval(() => this.tick(), Math.max(50, Math.min(intervalMs, timeoutMs) / 4));
    this.sweep.unref();
  }

  add(session: Http2Session): void {
    this.pings.set(session, { sentAt: performance.now(), answered: true });
    session.once('close', () => this.pings.delete(session));
  }

  stop(): void {
    clearInterval(this.sweep);
  }

  private tick(): void {
    const now = performance.now();
    const overdue: Array<[Http2Session, { answered: boolean }]> = [];
    for (const [session, ping] of this.pings) {
      if (session.closed || session.destroyed) continue;
      if (!ping.answered) {
        if (now - ping.sentAt > this.timeoutMs) overdue.push([session, ping]);
        continue;
      }
      if (now - ping.sentAt < this.intervalMs) continue;
      ping.sentAt = now;
      ping.answered = false;
      const sent = session.ping((err) => {
        if (err) session.destroy();
        else ping.answered = true;
      });
      if (!sent) ping.answered = true;
    }
    if (overdue.length === 0) return;
    // Judged after the sockets are read: Node runs timers before it polls, so
    // after a stall the answers may be waiting, unread, in the socket buffers.
    setImmediate(() => {
      for (const [session, ping] of overdue) if (!ping.answered) session.destroy();
    }).unref();
  }
}

function serveStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  handler: (call: PlacementCall) => PlacementCallEvents,
  encode: (order: PlacementOrder) => Buffer,
  logger: Logger,
): void {
  // Errors surface as 'close'; a reset by the client is not news.
  stream.on('error', (err) => logger.debug({ err }, 'placement stream failed'));
  const contentType = headers[constants.HTTP2_HEADER_CONTENT_TYPE];
  if (typeof contentType !== 'string' || !contentType.startsWith(GRPC_CONTENT_TYPE)) {
    stream.respond({ [constants.HTTP2_HEADER_STATUS]: 415 }, { endStream: true });
    return;
  }
  const call = new Http2PlacementCall(stream, encode);
  if (headers[constants.HTTP2_HEADER_PATH] !== METHOD.path) {
    call.finish({ code: grpcStatus.UNIMPLEMENTED, details: `The server does not implement the method ${String(headers[constants.HTTP2_HEADER_PATH])}` });
    return;
  }
  const events = handler(call);
  const reader = new GrpcMessageReader();
  stream.on('data', (chunk: Buffer) => {
    if (call.ended) return;
    let messages: Buffer[];
    try {
      messages = reader.push(chunk);
    } catch (err) {
      const code = err instanceof GrpcFrameError && err.reason === 'compressed' ? grpcStatus.UNIMPLEMENTED : grpcStatus.RESOURCE_EXHAUSTED;
      call.finish({ code, details: (err as Error).message });
      events.closed();
      return;
    }
    for (const bytes of messages) {
      if (call.ended) return;
      let host;
      try {
        host = decodeHost(bytes);
      } catch (err) {
        logger.debug({ err }, 'undecodable Host message');
        call.finish({ code: grpcStatus.INTERNAL, details: 'Error deserializing request' });
        events.closed();
        return;
      }
      events.message(host);
    }
  });
  stream.on('end', () => events.halfClosed());
  stream.on('close', () => events.closed());
}

/** One `ReportDaprStatus` stream over HTTP/2: headers sent with the first message, the status in trailers (or alone, trailers-only, when nothing was sent). */
class Http2PlacementCall implements PlacementCall {
  readonly peer: string;
  private headersSent = false;
  private finished = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly encode: (order: PlacementOrder) => Buffer,
  ) {
    const socket = stream.session?.socket;
    this.peer = socket ? formatPeer(socket.remoteAddress, socket.remotePort) : 'unknown';
  }

  get ended(): boolean {
    return this.finished || this.stream.closed || this.stream.destroyed;
  }

  peerIdentity(): SpiffeId | undefined {
    const socket = this.stream.session?.socket as TLSSocket | undefined;
    if (!socket || typeof socket.getPeerCertificate !== 'function') return undefined;
    const certificate = socket.getPeerCertificate();
    if (Object.keys(certificate).length === 0) return undefined;
    return spiffeIdFromSubjectAltName(certificate.subjectaltname);
  }

  send(order: PlacementOrder): void {
    if (this.ended) return;
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond({ [constants.HTTP2_HEADER_STATUS]: 200, [constants.HTTP2_HEADER_CONTENT_TYPE]: GRPC_CONTENT_TYPE }, { waitForTrailers: true });
    }
    this.stream.write(this.encode(order));
  }

  finish(status: CallStatus): void {
    if (this.ended) return;
    this.finished = true;
    const trailers = { 'grpc-status': String(status.code), 'grpc-message': encodeGrpcMessage(status.details) };
    if (!this.headersSent) {
      // Trailers-only: nothing was sent, so the status travels in the one HEADERS frame.
      this.headersSent = true;
      this.stream.respond({ [constants.HTTP2_HEADER_STATUS]: 200, [constants.HTTP2_HEADER_CONTENT_TYPE]: GRPC_CONTENT_TYPE, ...trailers }, { endStream: true });
      return;
    }
    this.stream.once('wantTrailers', () => this.stream.sendTrailers(trailers));
    this.stream.end();
  }
}

function formatPeer(address: string | undefined, port: number | undefined): string {
  if (!address) return 'unknown';
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function splitAddress(address: string): { host: string | undefined; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  return { host: host.length > 0 ? host : undefined, port: Number(address.slice(colon + 1)) };
}
