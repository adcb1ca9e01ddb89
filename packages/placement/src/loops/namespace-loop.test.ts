import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@tsdapr/runtime';
import { PlacementError } from '../errors.js';
import { host, withEntities, withOperation } from '../table/host-fixtures.js';
import { ManualClock } from '@tsdapr/kube';
import type { AckOperation, Phase, RoundOutcome } from './events.js';
import { NamespaceLoop } from './namespace-loop.js';
import { RecordingStream } from './recording-stream.js';

interface FixtureOptions {
  readonly coalesceWindowMs?: number;
  readonly disseminateTimeoutMs?: number;
}

/** A namespace loop with a manual clock and named recording streams. */
function fixture(options: FixtureOptions = {}) {
  const clock = new ManualClock();
  const rounds: Array<{ outcome: RoundOutcome; durationMs: number }> = [];
  const acks: Array<{ phase: Exclude<Phase, 'REPORT'>; latencyMs: number }> = [];
  const runtimes: Array<[number, number]> = [];
  const closedByLoop: PlacementError[] = [];
  const idle: string[] = [];
  const loop = new NamespaceLoop({
    namespace: 'default',
    replicationFactor: 100,
    disseminateTimeoutMs: options.disseminateTimeoutMs ?? 8000,
    coalesceWindowMs: options.coalesceWindowMs ?? 0,
    clock,
    logger: silentLogger(),
    observer: {
      runtimes: (_ns, total, withActors) => runtimes.push([total, withActors]),
      roundEnded: (_ns, outcome, durationMs) => rounds.push({ outcome, durationMs }),
      acked: (_ns, phase, latencyMs) => acks.push({ phase, latencyMs }),
      streamClosed: (_ns, error) => closedByLoop.push(error),
    },
    onIdle: (namespace) => idle.push(namespace),
  });
  const streams = new Map<string, RecordingStream>();
  let nextId = 1;

  const stream = (name: string): RecordingStream => {
    const found = streams.get(name);
    if (!found) throw new Error(`no stream ${name}`);
    return found;
  };
  /** What daprd sends with an ack: id, namespace, operation, version; no name or entities. */
  const ackHost = (name: string, operation: AckOperation, version: number | undefined) => ({ ...host(name, withOperation(operation, version)), name: '' });

  const f = {
    clock,
    loop,
    rounds,
    acks,
    runtimes,
    closedByLoop,
    idle,
    stream,
    connect(name: string, ...entities: string[]): RecordingStream {
      const recording = new RecordingStream(nextId++);
      streams.set(name, recording);
      loop.enqueue({ type: 'stream-connected', stream: recording, host: host(name, withEntities(...entities)) });
      return recording;
    },
    report(name: string, ...entities: string[]): void {
      loop.enqueue({ type: 'host-reported', streamId: stream(name).id, host: host(name, withEntities(...entities)) });
    },
    ack(name: string, operation: AckOperation, version: number | undefined): void {
      loop.enqueue({ type: 'ack', streamId: stream(name).id, operation, version, host: ackHost(name, operation, version) });
    },
    /** Each named (default: every open) stream acks what it received so far, as daprd does. */
    ackReceived(...names: string[]): number {
      let sent = 0;
      for (const name of names.length > 0 ? names : [...streams.keys()]) {
        const recording = stream(name);
        if (recording.closedWith) continue;
        for (const { operation, version } of recording.takeAcks()) {
          f.ack(name, operation, version);
          sent++;
        }
      }
      return sent;
    },
    /** Every open stream acks until nothing new arrives: the namespace settles. */
    settle(): void {
      while (f.ackReceived() > 0);
    },
    close(name: string): void {
      loop.enqueue({ type: 'stream-closed', streamId: stream(name).id });
    },
    /** Every stream's orders so far, in short form. */
    logs(): Record<string, string[]> {
      return Object.fromEntries([...streams].map(([name, recording]) => [name, recording.log]));
    },
    closed(): Record<string, string> {
      return Object.fromEntries([...streams].filter(([, s]) => s.closedWith).map(([name, s]) => [name, `${s.closedWith?.code}: ${s.closedWith?.message}`]));
    },
  };
  return f;
}

type Fixture = ReturnType<typeof fixture>;

interface Case {
  readonly name: string;
  readonly options?: FixtureOptions;
  readonly run: (f: Fixture) => void;
  readonly want: Record<string, string[]>;
  readonly wantClosed?: Record<string, string>;
  readonly wantRounds?: RoundOutcome[];
}

const cases: Case[] = [
  {
    name: 'a host with an actor type: lock, then update with the full table, then unlock, each after every ack',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1'] },
    wantRounds: ['completed'],
  },
  {
    name: 'an actor-less host alone gets the (empty) table at once, at version 0; its acks start nothing',
    run: (f) => {
      f.connect('h1');
      f.settle();
    },
    want: { h1: ['lock@0', 'update@0{}', 'unlock@0'] },
    wantRounds: [],
  },
  {
    name: 'an actor-less host joining gets the current table by burst; the others hear nothing',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.connect('h2');
      f.settle();
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1'], h2: ['lock@1', 'update@1{a:h1}', 'unlock@1'] },
  },
  {
    name: 'actor-less hosts take part in every round (they must lock too) but are not in the table',
    run: (f) => {
      f.connect('h0');
      f.settle();
      f.connect('h1', 'a');
      f.settle();
    },
    want: { h0: ['lock@0', 'update@0{}', 'unlock@0', 'lock@1', 'update@1{a:h1}', 'unlock@1'], h1: ['lock@1', 'update@1{a:h1}', 'unlock@1'] },
  },
  {
    name: 'UPDATE only after every stream acked LOCK, UNLOCK only after every UPDATE ack',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.connect('h2', 'a');
      f.ackReceived('h2');
      f.ackReceived('h2'); // nothing new for h2 yet
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2'], h2: ['lock@2'] },
  },
  {
    name: 'a repeated ack from one stream does not count twice',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.connect('h2', 'b');
      f.ack('h2', 'LOCK', 2);
      f.ack('h2', 'LOCK', 2);
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2'], h2: ['lock@2'] },
  },
  {
    name: 'acks with operation UNKNOWN count for the phase in progress',
    run: (f) => {
      f.connect('h1', 'a');
      f.ack('h1', 'UNKNOWN', undefined);
      f.ack('h1', 'UNKNOWN', undefined);
      f.ack('h1', 'UNKNOWN', undefined);
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1'] },
    wantRounds: ['completed'],
  },
  {
    name: 'an ack of an earlier version is ignored; an ack of another phase is ignored',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.report('h1', 'a', 'b');
      f.ack('h1', 'LOCK', 1);
      f.ack('h1', 'UPDATE', 2);
      f.ack('h1', 'LOCK', 2);
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1;b:h1}'] },
  },
  {
    name: 'an ack of a version not yet sent ends that stream; the round goes on without it',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.connect('h2', 'b');
      f.ack('h1', 'LOCK', 2);
      f.ack('h2', 'LOCK', 7);
      f.settle();
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1;b:h2}', 'unlock@2', 'lock@3', 'update@3{a:h1}', 'unlock@3'], h2: ['lock@2'] },
    wantClosed: { h2: 'version_ahead: acknowledged version 7, but the current version is 2' },
  },
  {
    name: 'new streams during a round wait unread, then join in one batch: one round for all',
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2', 'a');
      f.connect('h3', 'b');
      f.connect('h4');
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1,h2;b:h3}', 'unlock@2'],
      h2: ['lock@2', 'update@2{a:h1,h2;b:h3}', 'unlock@2'],
      h3: ['lock@2', 'update@2{a:h1,h2;b:h3}', 'unlock@2'],
      h4: ['lock@2', 'update@2{a:h1,h2;b:h3}', 'unlock@2'],
    },
    wantRounds: ['completed', 'completed'],
  },
  {
    name: 'waiting streams that host no actors get bursts after the round, not a round',
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2');
      f.connect('h3');
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1'],
      h2: ['lock@1', 'update@1{a:h1}', 'unlock@1'],
      h3: ['lock@1', 'update@1{a:h1}', 'unlock@1'],
    },
    wantRounds: ['completed'],
  },
  {
    name: 'a stored host closing outside a round: a round without it, at once',
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2', 'a');
      f.settle();
      f.close('h2');
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1,h2}', 'unlock@2', 'lock@3', 'update@3{a:h1}', 'unlock@3'],
      h2: ['lock@2', 'update@2{a:h1,h2}', 'unlock@2'],
    },
  },
  {
    name: 'an actor-less host closing changes nothing',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.connect('h2');
      f.settle();
      f.close('h2');
      f.settle();
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1'], h2: ['lock@1', 'update@1{a:h1}', 'unlock@1'] },
  },
  {
    name: 'a stored host closing during a round: deletion deferred to a round after this one',
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2', 'b');
      f.settle();
      f.connect('h3', 'c'); // no round is running: round 3 starts now
      f.ackReceived('h1');
      f.close('h2');
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1;b:h2}', 'unlock@2', 'lock@3', 'update@3{a:h1;b:h2;c:h3}', 'unlock@3', 'lock@4', 'update@4{a:h1;c:h3}', 'unlock@4'],
      h2: ['lock@2', 'update@2{a:h1;b:h2}', 'unlock@2', 'lock@3'],
      h3: ['lock@3', 'update@3{a:h1;b:h2;c:h3}', 'unlock@3', 'lock@4', 'update@4{a:h1;c:h3}', 'unlock@4'],
    },
  },
  {
    name: 'the last stream a phase waited for closes: the phase moves on at once',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.connect('h2');
      f.settle();
      f.report('h1', 'a', 'b');
      f.ackReceived('h1');
      f.close('h2');
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1;b:h1}', 'unlock@2'],
      h2: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2'],
    },
  },
  {
    name: 'every stream of a round gone while others wait: the waiting ones are let in at once',
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2', 'b');
      f.close('h1');
      f.settle();
    },
    want: { h1: ['lock@1'], h2: ['lock@2', 'update@2{b:h2}', 'unlock@2'] },
    wantRounds: ['abandoned', 'completed'],
  },
  {
    name: 'a REPORT with new actor types starts a round; the same types again do not',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.report('h1', 'a');
      f.report('h1', 'b', 'a');
      f.settle();
      f.report('h1', 'a', 'b');
      f.settle();
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1;b:h1}', 'unlock@2'] },
  },
  {
    name: 'a REPORT during a round joins the next round instead of restarting this one',
    run: (f) => {
      f.connect('h1', 'a');
      f.ackReceived('h1');
      f.report('h1', 'b');
      f.settle();
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{b:h1}', 'unlock@2'] },
  },
  {
    name: 'a stored host that reports no actor types any more leaves the table',
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2', 'a');
      f.settle();
      f.report('h2');
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1,h2}', 'unlock@2', 'lock@3', 'update@3{a:h1}', 'unlock@3'],
      h2: ['lock@2', 'update@2{a:h1,h2}', 'unlock@2', 'lock@3', 'update@3{a:h1}', 'unlock@3'],
    },
  },
  {
    name: 'dissemination timeout: streams that did not ack are closed, a fresh round runs with the rest',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.connect('h2', 'b');
      f.connect('h3', 'c');
      f.ackReceived('h1');
      f.clock.advance(7999);
      f.clock.advance(1);
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'lock@3', 'update@3{a:h1;c:h3}', 'unlock@3'],
      h2: ['lock@2'],
      h3: ['lock@3', 'update@3{a:h1;c:h3}', 'unlock@3'],
    },
    wantClosed: { h2: 'dissemination_timeout: dissemination timeout after 8s for version 2' },
    wantRounds: ['completed', 'timeout', 'completed'],
  },
  {
    name: 'the timeout covers the whole LOCK→UNLOCK sequence, from the round start',
    options: { disseminateTimeoutMs: 1000 },
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2', 'b');
      f.settle();
      f.report('h2', 'b', 'c');
      f.clock.advance(400);
      f.ackReceived('h1');
      f.ackReceived('h2'); // both locked
      f.clock.advance(400);
      f.ackReceived('h1'); // h2 does not ack the update
      f.clock.advance(200);
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1;b:h2}', 'unlock@2', 'lock@3', 'update@3{a:h1;b:h2;c:h2}', 'lock@4'],
      h2: ['lock@2', 'update@2{a:h1;b:h2}', 'unlock@2', 'lock@3', 'update@3{a:h1;b:h2;c:h2}'],
    },
    wantClosed: { h2: 'dissemination_timeout: dissemination timeout after 1s for version 3' },
  },
  {
    name: 'a completed round disarms its timeout',
    run: (f) => {
      f.connect('h1', 'a');
      f.settle();
      f.clock.advance(60_000);
    },
    want: { h1: ['lock@1', 'update@1{a:h1}', 'unlock@1'] },
    wantRounds: ['completed'],
  },
  {
    name: 'without a coalesce window, a delete and an add after a round cost two rounds',
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2', 'a');
      f.settle();
      f.connect('h3', 'a'); // round 3
      f.close('h2'); // deferred
      f.connect('h4', 'a'); // waits
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1,h2}', 'unlock@2', 'lock@3', 'update@3{a:h1,h2,h3}', 'unlock@3', 'lock@4', 'update@4{a:h1,h3}', 'unlock@4', 'lock@5', 'update@5{a:h1,h3,h4}', 'unlock@5'],
      h2: ['lock@2', 'update@2{a:h1,h2}', 'unlock@2', 'lock@3'],
      h3: ['lock@3', 'update@3{a:h1,h2,h3}', 'unlock@3', 'lock@4', 'update@4{a:h1,h3}', 'unlock@4', 'lock@5', 'update@5{a:h1,h3,h4}', 'unlock@5'],
      h4: ['lock@5', 'update@5{a:h1,h3,h4}', 'unlock@5'],
    },
  },
  {
    name: 'with a coalesce window, churn after a round folds into one round when the window ends',
    options: { coalesceWindowMs: 200 },
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2', 'a');
      f.settle();
      f.clock.advance(200);
      f.settle();
      f.close('h2');
      f.connect('h3', 'a');
      f.connect('h4', 'a');
      f.clock.advance(199);
      f.settle();
      f.clock.advance(1);
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1,h2}', 'unlock@2', 'lock@3', 'update@3{a:h1,h3,h4}', 'unlock@3'],
      h2: ['lock@2', 'update@2{a:h1,h2}', 'unlock@2'],
      h3: ['lock@3', 'update@3{a:h1,h3,h4}', 'unlock@3'],
      h4: ['lock@3', 'update@3{a:h1,h3,h4}', 'unlock@3'],
    },
    wantRounds: ['completed', 'completed', 'completed'],
  },
  {
    name: 'with a coalesce window, a lone delete still gets its round when the window ends',
    options: { coalesceWindowMs: 100 },
    run: (f) => {
      f.connect('h1', 'a');
      f.connect('h2', 'a');
      f.settle();
      f.clock.advance(100);
      f.settle();
      f.close('h2');
      f.clock.advance(100);
      f.settle();
    },
    want: {
      h1: ['lock@1', 'update@1{a:h1}', 'unlock@1', 'lock@2', 'update@2{a:h1,h2}', 'unlock@2', 'lock@3', 'update@3{a:h1}', 'unlock@3'],
      h2: ['lock@2', 'update@2{a:h1,h2}', 'unlock@2'],
    },
  },
];

void test('namespace loop rounds (upstream three-phase dissemination)', async (t) => {
  for (const c of cases) {
    await t.test(c.name, () => {
      const f = fixture(c.options);
      c.run(f);
      assert.deepEqual(f.logs(), c.want);
      assert.deepEqual(f.closed(), c.wantClosed ?? {});
      if (c.wantRounds) assert.deepEqual(f.rounds.map((r) => r.outcome), c.wantRounds);
    });
  }
});

void test('update carries the full Host as reported, replication factor 100, and the version as a string too', () => {
  const f = fixture();
  const h1 = f.connect('10.0.0.1:50002', 'myactor', 'other');
  f.settle();
  const update = h1.sent[1];
  assert.deepEqual(update, {
    operation: 'update',
    version: 1,
    tables: {
      version: '1',
      replication_factor: 100,
      entries: {
        myactor: { load_map: { '10.0.0.1:50002': host('10.0.0.1:50002', withEntities('myactor', 'other')) } },
        other: { load_map: { '10.0.0.1:50002': host('10.0.0.1:50002', withEntities('myactor', 'other')) } },
      },
    },
  });
  assert.deepEqual(h1.sent[0], { operation: 'lock', version: 1 });
  assert.deepEqual(h1.sent[2], { operation: 'unlock', version: 1 });
});

void test('a ≤1.16 heartbeat (operation UNKNOWN, no version) outside a round is a report', () => {
  const f = fixture();
  f.connect('h1', 'a');
  f.settle();
  f.loop.enqueue({ type: 'ack', streamId: f.stream('h1').id, operation: 'UNKNOWN', version: undefined, host: host('h1', withEntities('a', 'b'), withOperation('UNKNOWN')) });
  f.settle();
  assert.deepEqual(f.logs().h1?.slice(3), ['lock@2', 'update@2{a:h1;b:h1}', 'unlock@2']);
});

void test('metrics: runtimes, rounds, and ack latency per phase', () => {
  const f = fixture();
  f.connect('h1', 'a');
  f.clock.advance(5);
  f.ackReceived();
  f.clock.advance(7);
  f.ackReceived();
  f.clock.advance(11);
  f.ackReceived();
  f.connect('h2');
  assert.deepEqual(f.acks, [
    { phase: 'LOCK', latencyMs: 5 },
    { phase: 'UPDATE', latencyMs: 7 },
    { phase: 'UNLOCK', latencyMs: 11 },
  ]);
  assert.deepEqual(f.rounds, [{ outcome: 'completed', durationMs: 23 }]);
  assert.deepEqual(f.runtimes.at(-1), [2, 1]);
  f.close('h1');
  assert.deepEqual(f.runtimes.at(-1), [1, 0]);
});

void test('the loop says when it is idle, and shutdown closes every stream, waiting ones too', () => {
  const f = fixture();
  f.connect('h1', 'a');
  f.connect('h2', 'b');
  assert.deepEqual(f.idle, []);
  f.loop.enqueue({ type: 'shutdown', error: new PlacementError('shutting_down', 'placement server is shutting down') });
  assert.deepEqual(f.closed(), { h1: 'shutting_down: placement server is shutting down', h2: 'shutting_down: placement server is shutting down' });
  assert.deepEqual(f.idle, ['default']);
  assert.equal(f.clock.pending, 0);
});

void test('the last stream closing leaves the loop idle', () => {
  const f = fixture();
  f.connect('h1', 'a');
  f.settle();
  f.close('h1');
  assert.deepEqual(f.idle, ['default']);
});

