import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePayload, encodePayload, PAYLOAD_TYPE_URL } from './job-payload.js';

test('round trip of a due instant and an index', () => {
  const encoded = encodePayload({ dueMs: 1_767_225_600_123, index: 99_999 });
  assert.equal(encoded.type_url, PAYLOAD_TYPE_URL);
  assert.deepEqual(decodePayload(encoded), { dueMs: 1_767_225_600_123, index: 99_999 });
});

test('the bytes are a google.protobuf.Value with string_value set', () => {
  const encoded = encodePayload({ dueMs: 5, index: 7 });
  // tag 0x1a (field 3, wire type 2), length 3, "5:7"
  assert.deepEqual([...encoded.value], [0x1a, 3, 0x35, 0x3a, 0x37]);
});

test('a length written as a two-byte varint decodes too', () => {
  const text = Buffer.from(`${'1'.repeat(13)}:${'2'.repeat(9)}`);
  assert.equal(text.length, 23);
  const twoByteLength = Buffer.concat([Buffer.from([0x1a, 0x97, 0x00]), text]);
  assert.deepEqual(decodePayload({ type_url: PAYLOAD_TYPE_URL, value: twoByteLength }), { dueMs: 1_111_111_111_111, index: 222_222_222 });
});

test('decoding works on a Buffer that is a slice of a larger one (as gRPC hands them out)', () => {
  const encoded = encodePayload({ dueMs: 123, index: 4 });
  const big = Buffer.concat([Buffer.from('xxxx'), encoded.value, Buffer.from('yy')]);
  const slice = big.subarray(4, 4 + encoded.value.length);
  assert.deepEqual(decodePayload({ type_url: PAYLOAD_TYPE_URL, value: slice }), { dueMs: 123, index: 4 });
});

test('anything else is not a payload', () => {
  const good = encodePayload({ dueMs: 1, index: 2 });
  assert.equal(decodePayload(undefined), undefined);
  assert.equal(decodePayload(null), undefined);
  assert.equal(decodePayload({ type_url: 'type.googleapis.com/google.protobuf.StringValue', value: good.value }), undefined);
  assert.equal(decodePayload({ type_url: PAYLOAD_TYPE_URL, value: Buffer.alloc(0) }), undefined);
  assert.equal(decodePayload({ type_url: PAYLOAD_TYPE_URL, value: good.value.subarray(0, good.value.length - 1) }), undefined);
  assert.equal(decodePayload({ type_url: PAYLOAD_TYPE_URL, value: Buffer.from([0x1a, 3, 0x61, 0x3a, 0x37]) }), undefined);
});

test('bad inputs are refused when encoding', () => {
  assert.throws(() => encodePayload({ dueMs: -1, index: 0 }));
  assert.throws(() => encodePayload({ dueMs: 1.5, index: 0 }));
  assert.throws(() => encodePayload({ dueMs: 1, index: -2 }));
});
