import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DerError, DerReader, oidToString } from './der-reader.js';
import { oid, sequence, smallInteger, tlv, unsignedInteger, x509Time, TAG } from './der-writer.js';
import { ReverseDerWriter } from './reverse-der-writer.js';

const hex = (buf: Uint8Array): string => Buffer.from(buf).toString('hex');

describe('DER writer', () => {
  const integers: [string, string, string][] = [
    ['zero', '00', '020100'],
    ['leading zeros dropped', '00007f', '02017f'],
    ['top bit set gets a zero byte', '80', '02020080'],
    ['128-bit serial with top bit', 'ff'.repeat(16), `0211${'00'}${'ff'.repeat(16)}`],
  ];
  for (const [name, input, expected] of integers) {
    it(`unsignedInteger: ${name}`, () => assert.equal(hex(unsignedInteger(Buffer.from(input, 'hex'))), expected));
  }

  it('smallInteger', () => {
    assert.equal(hex(smallInteger(2)), '020102');
    assert.equal(hex(smallInteger(256)), '02020100');
  });

  const lengths: [number, string][] = [
    [0, '3000'],
    [127, '307f'],
    [128, '308180'],
    [255, '3081ff'],
    [256, '30820100'],
    [70_000, '3083011170'],
  ];
  for (const [length, header] of lengths) {
    it(`length ${length} uses header ${header}`, () => assert.equal(hex(sequence(Buffer.alloc(length)).subarray(0, header.length / 2)), header));
  }

  const times: [string, string][] = [
    ['2026-06-01T12:34:56.789Z', `170d${Buffer.from('260601123456Z').toString('hex')}`],
    ['1950-01-01T00:00:00Z', `170d${Buffer.from('500101000000Z').toString('hex')}`],
    ['2049-12-31T23:59:59Z', `170d${Buffer.from('491231235959Z').toString('hex')}`],
    ['2050-01-01T00:00:00Z', `180f${Buffer.from('20500101000000Z').toString('hex')}`],
    ['1949-12-31T23:59:59Z', `180f${Buffer.from('19491231235959Z').toString('hex')}`],
  ];
  for (const [date, expected] of times) {
    it(`x509Time ${date}`, () => assert.equal(hex(x509Time(new Date(date))), expected));
  }

  it('oid', () => {
    assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
    assert.equal(hex(oid('2.5.29.17')), '0603551d11');
    assert.equal(oidToString(oid('1.2.840.113549.1.1.11').subarray(2)), '1.2.840.113549.1.1.11');
    assert.equal(oidToString(oid('2.999.3').subarray(2)), '2.999.3');
  });
});

describe('DER reader', () => {
  it('reads nested values and positions', () => {
    const der = sequence(smallInteger(5), tlv(TAG.octetString, Buffer.from('hi')));
    const outer = new DerReader(der).expect(TAG.sequence, 'outer');
    const inner = DerReader.inside(der, outer);
    assert.equal(inner.expect(TAG.integer, 'int').contentStart, 4);
    assert.equal(inner.optional(TAG.boolean), undefined);
    const octets = inner.expect(TAG.octetString, 'octets');
    assert.equal(Buffer.from(der.subarray(octets.contentStart, octets.end)).toString(), 'hi');
    inner.end('outer');
  });

  const bad: [string, string, RegExp][] = [
    ['truncated', '3005020100', /runs past/],
    ['indefinite length', '308000000000', /indefinite/],
    ['non-minimal length', '30810100', /non-minimal/],
    ['multi-byte tag', '1f8100', /multi-byte tag/],
    ['empty', '', /truncated/],
  ];
  for (const [name, input, message] of bad) {
    it(`rejects ${name}`, () => assert.throws(() => new DerReader(Buffer.from(input, 'hex')).read(), (err: unknown) => err instanceof DerError && message.test(err.message)));
  }

  it('rejects a value that is not the expected one', () => {
    assert.throws(() => new DerReader(Buffer.from('020100', 'hex')).expect(TAG.sequence, 'Certificate'), /expected Certificate \(tag 0x30\), found tag 0x2/);
  });
});

describe('reverse DER writer', () => {
  for (const length of [0, 1, 127, 128, 255, 256, 65_535, 65_536, 70_000]) {
    it(`nests a ${length}-byte value exactly as the forward writer does`, () => {
      const content = Buffer.alloc(length, 0xab);
      // A small initial buffer so the writer has to grow.
      const w = new ReverseDerWriter(16);
      const end = w.mark();
      w.primitive(TAG.octetString, content);
      w.latin1('id');
      w.header(TAG.ia5String, 2);
      w.wrap(TAG.sequence, end);
      assert.deepEqual(w.view(), sequence(tlv(TAG.ia5String, Buffer.from('id')), tlv(TAG.octetString, content)));
      w.reset();
      assert.equal(w.view().length, 0);
    });
  }
});
