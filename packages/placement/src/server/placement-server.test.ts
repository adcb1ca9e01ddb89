import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { placementService } from '@tsdapr/grpc';
import { silentLogger } from '@tsdapr/runtime';
import type { PlacementOrder } from '../table/messages.js';
import type { WireHost } from './check-host.js';
import { frameMessage } from './grpc-frames.js';
import { placementServer } from './placement-server.js';
import type { PlacementCall, PlacementCallEvents } from './report-dapr-status.js';
import { decodeOrderHead, type ReceivedOrder } from './sidecar-client.js';

const method = placementService().service.ReportDaprStatus!;

/** A server whose handler answers each Host message with a script chosen by the message's app id. */
async function startServer(t: { after: (fn: () => Promise<void>) => void }, keepalive = { timeMs: 2000, timeoutMs: 3000 }) {
  const controller = new AbortController();
  const shared: PlacementOrder = { operation: 'lock', version: 7 };
  const calls: PlacementCall[] = [];
  const handler = (call: PlacementCall): PlacementCallEvents => {
    calls.push(call);
    return {
      message(host: WireHost) {
        switch (host.id) {
          case 'finish-at-once':
            call.finish({ code: status.FAILED_PRECONDITION, details: 'node id=p-0 is not a leader. Only the leader can serve requests (ñ, 100%)' });
            break;
          case 'two-then-fail':
            call.send(shared);
            call.send({ operation: 'unlock', version: 7 });
            call.finish({ code: status.DEADLINE_EXCEEDED, details: 'dissemination timeout after 8s for version 7' });
            break;
          default:
            call.send(shared);
        }
      },
      halfClosed: () => call.finish({ code: status.OK, details: '' }),
      closed: () => undefined,
    };
  };
  let port = 0;
  const bound = new Promise<void>((resolve) => {
    const run = placementServer({
      address: '127.0.0.1:0',
      tls: undefined,
      keepaliveTimeMs: keepalive.timeMs,
      keepaliveTimeoutMs: keepalive.timeoutMs,
      handler,
      logger: silentLogger(),
      drainMs: 500,
      onBound: (p) => {
        port = p;
        resolve();
      },
    });
    const done = run(controller.signal);
    t.after(async () => {
      controller.abort();
      await done;
    });
  });
  await bound;
  return { address: `127.0.0.1:${port}`, calls };
}

/** Opens a stream with grpc-js, sends one Host, collects orders until the status. */
async function exchange(address: string, path: string, id: string): Promise<{ orders: ReceivedOrder[]; code: number; details: string }> {
  const client = new Client(address, credentials.createInsecure());
  try {
    const call = client.makeBidiStreamRequest<WireHost, ReceivedOrder>(path, (m) => method.requestSerialize(m), (bytes) => decodeOrderHead(bytes));
    const orders: ReceivedOrder[] = [];
    call.on('data', (order: ReceivedOrder) => orders.push(order));
    const ended = new Promise<{ code: number; details: string }>((resolve) => {
      call.on('error', (err: ServiceError) => resolve({ code: err.code, details: err.details }));
      call.on('status', (s: { code: number; details: string }) => resolve({ code: s.code, details: s.details }));
    });
    call.write({ id, namespace: 'default', operation: 'REPORT' });
    if (id === 'ok') {
      // Half-close after the first order: the server ends the call with OK.
      await new Promise<void>((resolve) => call.once('data', () => resolve()));
      call.end();
    }
    return { orders, ...(await ended) };
  } finally {
    client.close();
  }
}

void test('the HTTP/2 placement server speaks gRPC as grpc-js clients expect', async (t) => {
  const { address } = await startServer(t);
  await t.test('an unknown method is UNIMPLEMENTED', async () => {
    const got = await exchange(address, '/dapr.proto.placement.v1.Placement/Nope', 'x');
    assert.equal(got.code, status.UNIMPLEMENTED);
  });
  await t.test('a status before any order travels trailers-only, its message percent-encoded and read back intact', async () => {
    const got = await exchange(address, method.path, 'finish-at-once');
    assert.deepEqual(got, { orders: [], code: status.FAILED_PRECONDITION, details: 'node id=p-0 is not a leader. Only the leader can serve requests (ñ, 100%)' });
  });
  await t.test('orders, then a status in the trailers', async () => {
    const got = await exchange(address, method.path, 'two-then-fail');
    assert.deepEqual(got, {
      orders: [
        { operation: 'lock', version: '7', tables: null },
        { operation: 'unlock', version: '7', tables: null },
      ],
      code: status.DEADLINE_EXCEEDED,
      details: 'dissemination timeout after 8s for version 7',
    });
  });
  await t.test('a client that half-closes gets OK', async () => {
    const got = await exchange(address, method.path, 'ok');
    assert.equal(got.code, status.OK);
    assert.deepEqual(got.orders, [{ operation: 'lock', version: '7', tables: null }]);
  });
});

void test('a compressed message ends the stream with UNIMPLEMENTED; a non-gRPC request gets 415', async (t) => {
  const { address } = await startServer(t);
  const session = connect(`http://${address}`);
  t.after(() => session.close());
  const compressed = frameMessage(method.requestSerialize({ id: 'x', namespace: 'default', operation: 'REPORT' }));
  compressed[0] = 1;
  const stream = session.request({ ':method': 'POST', ':path': method.path, 'content-type': 'application/grpc', te: 'trailers' });
  const headers = new Promise<Record<string, unknown>>((resolve) => stream.on('response', (h) => resolve(h)));
  stream.end(compressed);
  stream.resume();
  assert.equal((await headers)['grpc-status'], String(status.UNIMPLEMENTED));

  const plain = session.request({ ':method': 'POST', ':path': method.path, 'content-type': 'text/plain' });
  const plainHeaders = new Promise<Record<string, unknown>>((resolve) => plain.on('response', (h) => resolve(h)));
  plain.end();
  plain.resume();
  assert.equal((await plainHeaders)[':status'], 415);
});

void test('keepalive: a connection that stops answering pings is dropped; one that answers stays', async (t) => {
  const { address } = await startServer(t, { timeMs: 200, timeoutMs: 300 });
  const [host, port] = address.split(':') as [string, string];
  const answering = connect(`http://${address}`);
  t.after(() => answering.close());
  await new Promise<void>((resolve) => answering.once('connect', () => resolve()));

  // An HTTP/2 client that sends its preface and SETTINGS, then goes silent (a frozen sidecar).
  const silent = tcpConnect(Number(port), host);
  silent.on('data', () => undefined);
  const startedAt = performance.now();
  const dropped = new Promise<number>((resolve) => silent.on('close', () => resolve(performance.now() - startedAt)));
  silent.on('error', () => undefined);
  silent.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));

  t.after(() => silent.destroy());
  const droppedAfterMs = await Promise.race([dropped, new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 3000))]);
  // First ping due after 200 ms, unanswered for 300 ms, noticed within a sweep (50 ms).
  assert.ok(droppedAfterMs >= 450 && droppedAfterMs < 2000, `dropped after ${droppedAfterMs} ms`);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(answering.closed || answering.destroyed, false, 'the answering connection was dropped');
});
