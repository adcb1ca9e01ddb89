import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeadPredecessor } from './membership.js';

const self = { uid: 'me', host: 'dapr-scheduler-server-0', pid: 1, alive: (pid: number) => pid === 1 || pid === 42 };

test('a replica takes over its own key only from a dead run of itself on the same host', () => {
  const cases = [
    { name: 'our own record', record: { address: 'a', uid: 'me', total: 1, host: self.host, pid: 1 }, want: false },
    { name: 'same host, earlier run, process gone', record: { address: 'a', uid: 'old', total: 1, host: self.host, pid: 7 }, want: true },
    { name: 'same host, earlier run as pid 1 (a container restart)', record: { address: 'a', uid: 'old', total: 1, host: self.host, pid: 1 }, want: true },
    { name: 'same host, another live process with our id', record: { address: 'a', uid: 'other', total: 1, host: self.host, pid: 42 }, want: false },
    { name: 'another host (a misconfigured duplicate id)', record: { address: 'a', uid: 'other', total: 1, host: 'elsewhere', pid: 7 }, want: false },
    { name: 'a record without a host (older writer)', record: { address: 'a', uid: 'other', total: 1 }, want: false },
  ];
  for (const c of cases) assert.equal(isDeadPredecessor(c.record, self), c.want, c.name);
});
