import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcFrameError, GrpcMessageReader, encodeGrpcMessage, frameMessage } from './grpc-frames.js';

const framed = (...texts: string[]): Buffer => Buffer.concat(texts.map((text) => frameMessage(Buffer.from(text))));

void test('GrpcMessageReader splits DATA chunks into messages wherever the chunks break', async (t) => {
  const stream = framed('ack-1', '', 'a longer second message', 'x');
  const cases: Array<{ name: string; cuts: number[] }> = [
    { name: 'one chunk with every message', cuts: [] },
    { name: 'a chunk per byte', cuts: Array.from({ length: stream.length - 1 }, (_, i) => i + 1) },
    { name: 'a cut inside a length prefix', cuts: [2] },
    { name: 'a cut inside a message body', cuts: [7, 30] },
    { name: 'a cut exactly between messages', cuts: [10, 15] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const reader = new GrpcMessageReader();
      const bounds = [0, ...c.cuts, stream.length];
      const got: string[] = [];
      for (let i = 0; i < bounds.length - 1; i++) for (const message of reader.push(stream.subarray(bounds[i], bounds[i + 1]))) got.push(message.toString());
      assert.deepEqual(got, ['ack-1', '', 'a longer second message', 'x']);
    });
  }
});

void test('GrpcMessageReader refuses compressed and oversized messages', () => {
  const compressed = framed('z');
  compressed[0] = 1;
  assert.throws(() => new GrpcMessageReader().push(compressed), (err: unknown) => err instanceof GrpcFrameError && err.reason === 'compressed');
  // Refused from the prefix alone, before the body arrives.
  assert.throws(() => new GrpcMessageReader(4).push(framed('12345').subarray(0, 5)), (err: unknown) => err instanceof GrpcFrameError && err.reason === 'too_large');
});

void test('encodeGrpcMessage percent-encodes what the gRPC spec says', () => {
  assert.equal(encodeGrpcMessage("node id=p-0 is not a leader. Only the leader can serve requests"), "node id=p-0 is not a leader. Only the leader can serve requests");
  assert.equal(encodeGrpcMessage('100% sure\nnext'), '100%25 sure%0Anext');
  assert.equal(encodeGrpcMessage('hôst'), 'h%C3%B4st');
  assert.equal(decodeURIComponent(encodeGrpcMessage('äpp % ns\t')), 'äpp % ns\t');
});
