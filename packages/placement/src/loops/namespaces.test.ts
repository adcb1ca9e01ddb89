import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@tsdapr/runtime';
import { PlacementError } from '../errors.js';
import { host, inNamespace, withEntities, withOperation } from '../table/host-fixtures.js';
import { ManualClock } from '@tsdapr/kube';
import { NOOP_OBSERVER } from './events.js';
import { Namespaces } from './namespaces.js';
import { RecordingStream } from './recording-stream.js';

function fixture() {
  const clock = new ManualClock();
  const namespaces = new Namespaces({ replicationFactor: 100, disseminateTimeoutMs: 8000, coalesceWindowMs: 0, clock, logger: silentLogger(), observer: NOOP_OBSERVER });
  let nextId = 1;
  const streams: RecordingStream[] = [];
  const namesOf = new Map<number, { name: string; namespace: string }>();
  return {
    clock,
    namespaces,
    connect(name: string, namespace: string, ...entities: string[]): RecordingStream {
      const stream = new RecordingStream(nextId++);
      streams.push(stream);
      namesOf.set(stream.id, { name, namespace });
      namespaces.enqueue({ type: 'stream-connected', stream, host: host(name, inNamespace(namespace), withEntities(...entities)) });
      return stream;
    },
    settle(): void {
      for (let moved = true; moved; ) {
        moved = false;
        for (const stream of streams) {
          if (stream.closedWith) continue;
          const who = namesOf.get(stream.id)!;
          for (const { operation, version } of stream.takeAcks()) {
            moved = true;
            namespaces.enqueue({ type: 'ack', streamId: stream.id, operation, version, host: host('', inNamespace(who.namespace), withOperation(operation, version)) });
          }
        }
      }
    },
    close(stream: RecordingStream): void {
      namespaces.enqueue({ type: 'stream-closed', streamId: stream.id });
    },
  };
}

void test('two namespaces run their rounds apart, each with its own version and table', () => {
  const f = fixture();
  const a1 = f.connect('a1', 'ns-a', 't');
  const b1 = f.connect('b1', 'ns-b', 't');
  f.settle();
  const a2 = f.connect('a2', 'ns-a', 't');
  f.settle();
  assert.deepEqual(a1.log, ['lock@1', 'update@1{t:a1}', 'unlock@1', 'lock@2', 'update@2{t:a1,a2}', 'unlock@2']);
  assert.deepEqual(a2.log, ['lock@2', 'update@2{t:a1,a2}', 'unlock@2']);
  assert.deepEqual(b1.log, ['lock@1', 'update@1{t:b1}', 'unlock@1']);
  assert.deepEqual(f.namespaces.namespaces, ['ns-a', 'ns-b']);
});

void test('a stalled namespace does not hold up another', () => {
  const f = fixture();
  const a1 = f.connect('a1', 'ns-a', 't');
  const b1 = f.connect('b1', 'ns-b', 't');
  // Only ns-b acks.
  f.namespaces.enqueue({ type: 'ack', streamId: b1.id, operation: 'LOCK', version: 1, host: host('', inNamespace('ns-b'), withOperation('LOCK', 1)) });
  assert.deepEqual(b1.log, ['lock@1', 'update@1{t:b1}']);
  assert.deepEqual(a1.log, ['lock@1']);
});

void test("events go to the namespace the stream opened with, not the one a later message names", () => {
  const f = fixture();
  const a1 = f.connect('a1', 'ns-a', 't');
  const b1 = f.connect('b1', 'ns-b', 't');
  f.settle();
  f.namespaces.enqueue({ type: 'host-reported', streamId: a1.id, host: host('a1', inNamespace('ns-b'), withEntities('t', 'u')) });
  f.settle();
  assert.deepEqual(b1.log, ['lock@1', 'update@1{t:b1}', 'unlock@1']);
  assert.equal(a1.log.length, 6);
});

void test('a namespace is discarded with its last stream, and starts again from version 0', async () => {
  const f = fixture();
  const a1 = f.connect('a1', 'ns-a', 't');
  f.settle();
  f.namespaces.enqueue({ type: 'host-reported', streamId: a1.id, host: host('a1', inNamespace('ns-a'), withEntities('u')) });
  f.settle();
  assert.equal(a1.log.at(-1), 'unlock@2');
  f.close(a1);
  assert.deepEqual(f.namespaces.namespaces, []);
  assert.equal(f.clock.pending, 0);
  const a2 = f.connect('a2', 'ns-a', 't');
  f.settle();
  assert.deepEqual(a2.log, ['lock@1', 'update@1{t:a2}', 'unlock@1']);
  assert.deepEqual((await f.namespaces.stateTables()).tables['ns-a']?.version, 1);
});

void test('state tables: every namespace, stored hosts only', async () => {
  const f = fixture();
  f.connect('a1', 'ns-a', 't');
  f.connect('a0', 'ns-a');
  f.connect('b1', 'ns-b', 'u');
  f.settle();
  const state = await f.namespaces.stateTables();
  assert.deepEqual(Object.keys(state.tables).sort(), ['ns-a', 'ns-b']);
  assert.deepEqual(state.tables['ns-a']?.hosts.map((h) => h.name), ['a1']);
  assert.equal(state.tables['ns-b']?.version, 1);
  assert.deepEqual(await fixture().namespaces.stateTables(), { tables: {} });
});

void test('shutdown closes every stream of every namespace and turns new ones away', () => {
  const f = fixture();
  const a1 = f.connect('a1', 'ns-a', 't');
  const b1 = f.connect('b1', 'ns-b');
  const error = new PlacementError('leadership_lost', 'lost leadership');
  f.namespaces.enqueue({ type: 'shutdown', error });
  assert.equal(a1.closedWith, error);
  assert.equal(b1.closedWith, error);
  const late = f.connect('c1', 'ns-c', 't');
  assert.equal(late.closedWith, error);
  assert.deepEqual(late.log, []);
  assert.equal(f.clock.pending, 0);
});
