import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placementService } from '@tsdapr/grpc';
import { decodeHost } from './host-codec.js';

const method = placementService().service.ReportDaprStatus!;

void test('decodeHost reads what proto-loader reads', async (t) => {
  const cases: Array<{ name: string; message: Record<string, unknown> }> = [
    { name: 'a v1.17 REPORT', message: { name: '10.0.0.1:50002', entities: ['b', 'a'], id: 'app', namespace: 'default', api_level: 20, operation: 'REPORT' } },
    { name: 'an ack with a version', message: { id: 'app', namespace: 'default', operation: 'LOCK', version: '7' } },
    { name: 'version 0 is present', message: { id: 'app', namespace: 'default', operation: 'UNLOCK', version: '0' } },
    { name: 'a huge version', message: { id: 'app', namespace: 'default', operation: 'UPDATE', version: '18446744073709551615' } },
    { name: 'versions around the 53-bit fast path', message: { id: 'app', namespace: 'default', operation: 'LOCK', version: '562949953421311' } },
    { name: 'a version just past it', message: { id: 'app', namespace: 'default', operation: 'LOCK', version: '562949953421312' } },
    { name: 'a port above 2^32', message: { name: 'h', port: '8589934593', id: 'x', namespace: 'n', operation: 'REPORT' } },
    { name: 'negative and large int64s', message: { name: 'h', port: '-5', load: '9007199254740993', pod: 'p', id: 'x', namespace: 'n', operation: 'UNKNOWN' } },
    { name: 'an empty message', message: {} },
    { name: 'an unknown operation number', message: { id: 'a', namespace: 'n', operation: 9 } },
    { name: 'non-ASCII text', message: { name: 'hôst', id: 'äpp', namespace: 'ns', entities: ['акто́р'], operation: 'REPORT' } },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const bytes = method.requestSerialize(c.message);
      const expected = { ...(method.requestDeserialize(bytes) as Record<string, unknown>) };
      delete expected._version;
      assert.deepEqual(decodeHost(bytes), expected);
    });
  }
});

void test('decodeHost skips unknown fields and refuses truncated input', () => {
  const known = method.requestSerialize({ id: 'app', namespace: 'default', operation: 'REPORT' });
  // field 15 (varint 1), field 16 (length-delimited "xy"), field 17 (fixed32), field 18 (fixed64)
  const unknown = Buffer.from([0x78, 0x01, 0x82, 0x01, 0x02, 0x78, 0x79, 0x8d, 0x01, 1, 2, 3, 4, 0x91, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(decodeHost(Buffer.concat([known, unknown])), decodeHost(known));
  assert.throws(() => decodeHost(known.subarray(0, known.length - 1)), /truncated/);
});
