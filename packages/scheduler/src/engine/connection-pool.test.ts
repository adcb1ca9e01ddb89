import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobMetadata } from '../core/job-model.js';
import { ConnectionPool, stagingPrefix, type TriggerStream } from './connection-pool.js';

function stream(name: string, options: Partial<Omit<TriggerStream, 'deliver'>> = {}): TriggerStream & { name: string } {
  return {
    name,
    namespace: options.namespace ?? 'default',
    appId: options.appId ?? 'app1',
    actorTypes: options.actorTypes ?? [],
    acceptJobs: options.acceptJobs ?? true,
    acceptReminders: options.acceptReminders ?? false,
    deliver: () => Promise.resolve('success'),
  };
}

const job = (appId: string, namespace = 'default'): JobMetadata => ({ appId, namespace, target: { kind: 'job' } });
const reminder = (type: string, namespace = 'default', appId = 'caller'): JobMetadata => ({ appId, namespace, target: { kind: 'actor', type, id: 'x' } });
const nameOf = (picked: TriggerStream | undefined): string | undefined => (picked as { name?: string } | undefined)?.name;

void test('ConnectionPool rotates among the streams of an app, per namespace', { timeout: 5000 }, () => {
  const pool = new ConnectionPool();
  pool.register(stream('a'));
  pool.register(stream('b'));
  pool.register(stream('c'));
  pool.register(stream('other-app', { appId: 'app2' }));
  pool.register(stream('other-ns', { namespace: 'ns2' }));
  assert.equal(pool.size, 5);
  assert.deepEqual(Array.from({ length: 6 }, () => nameOf(pool.pick(job('app1')))), ['a', 'b', 'c', 'a', 'b', 'c']);
  assert.equal(nameOf(pool.pick(job('app2'))), 'other-app');
  assert.equal(nameOf(pool.pick(job('app1', 'ns2'))), 'other-ns');
  assert.equal(pool.pick(job('app3')), undefined);
});

void test('ConnectionPool routes reminders by actor type to streams accepting reminders', { timeout: 5000 }, () => {
  const pool = new ConnectionPool();
  pool.register(stream('jobs-only', { appId: 'x', actorTypes: ['T'], acceptJobs: true, acceptReminders: false }));
  assert.equal(pool.pick(reminder('T')), undefined, 'a stream not accepting reminders never gets one');
  pool.register(stream('host1', { appId: 'y', actorTypes: ['T', 'U'], acceptReminders: true, acceptJobs: false }));
  pool.register(stream('host2', { appId: 'z', actorTypes: ['T'], acceptReminders: true }));
  assert.deepEqual([nameOf(pool.pick(reminder('T'))), nameOf(pool.pick(reminder('T'))), nameOf(pool.pick(reminder('T')))], ['host1', 'host2', 'host1']);
  assert.equal(nameOf(pool.pick(reminder('U'))), 'host1');
  assert.equal(pool.pick(reminder('T', 'ns2')), undefined, 'namespace matters');
  assert.equal(pool.pick(job('y')), undefined, 'acceptJobs false: no app jobs');
});

void test('ConnectionPool.unregister removes a stream from every rotation; rotation continues over the rest', { timeout: 5000 }, () => {
  const pool = new ConnectionPool();
  const a = stream('a', { actorTypes: ['T'], acceptReminders: true });
  const b = stream('b', { actorTypes: ['T'], acceptReminders: true });
  pool.register(a);
  pool.register(b);
  assert.equal(nameOf(pool.pick(job('app1'))), 'a');
  pool.unregister(a);
  assert.equal(pool.size, 1);
  assert.deepEqual([nameOf(pool.pick(job('app1'))), nameOf(pool.pick(job('app1')))], ['b', 'b']);
  assert.equal(nameOf(pool.pick(reminder('T'))), 'b');
  pool.unregister(b);
  assert.equal(pool.size, 0);
  assert.equal(pool.pick(job('app1')), undefined);
  assert.equal(pool.pick(reminder('T')), undefined);
});

void test('ConnectionPool tells listeners the prefixes a new stream can take', { timeout: 5000 }, () => {
  const pool = new ConnectionPool();
  const seen: string[][] = [];
  const off = pool.onPrefixesRegistered((prefixes) => seen.push([...prefixes]));
  pool.register(stream('a', { appId: 'app1', actorTypes: ['T', 'T', 'U'], acceptJobs: true, acceptReminders: true }));
  pool.register(stream('b', { appId: 'app2', actorTypes: ['T'], acceptJobs: true, acceptReminders: false }));
  off();
  pool.register(stream('c'));
  assert.deepEqual(seen, [['app||default||app1||', 'actorreminder||default||T||', 'actorreminder||default||U||'], ['app||default||app2||']]);
  // The staging prefix of a job is one of those a matching stream registers.
  assert.equal(stagingPrefix(job('app1')), 'app||default||app1||');
  assert.equal(stagingPrefix(reminder('T')), 'actorreminder||default||T||');
});
