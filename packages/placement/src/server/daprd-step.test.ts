import assert from 'node:assert/strict';
import { test } from 'node:test';
import { daprdStep, type DaprdStreamState, type ReceivedOrder } from './sidecar-client.js';

const order = (operation: string, version: number): ReceivedOrder => ({ operation, version: String(version), tables: null });

test('daprdStep follows a v1.17 daprd through a round', () => {
  const cases: Array<{ name: string; state: DaprdStreamState; order: ReceivedOrder; want: ReturnType<typeof daprdStep> }> = [
    { name: 'lock takes the version', state: { version: 1, phase: 'UNLOCK' }, order: order('lock', 2), want: { kind: 'ack', operation: 'LOCK', state: { version: 2, phase: 'LOCK' } } },
    { name: 'update acks with the lock version', state: { version: 2, phase: 'LOCK' }, order: order('update', 2), want: { kind: 'ack', operation: 'UPDATE', state: { version: 2, phase: 'UPDATE' } } },
    { name: 'update older than the lock closes', state: { version: 3, phase: 'LOCK' }, order: order('update', 2), want: { kind: 'close' } },
    { name: 'unlock after update acks with its version', state: { version: 2, phase: 'UPDATE' }, order: order('unlock', 2), want: { kind: 'ack', operation: 'UNLOCK', state: { version: 2, phase: 'UNLOCK' } } },
    { name: 'unlock without update is ignored', state: { version: 2, phase: 'LOCK' }, order: order('unlock', 2), want: { kind: 'ignore' } },
    { name: 'an unknown operation closes', state: { version: 2, phase: 'LOCK' }, order: order('bogus', 2), want: { kind: 'close' } },
  ];
  for (const c of cases) assert.deepEqual(daprdStep(c.state, c.order), c.want, c.name);
});
