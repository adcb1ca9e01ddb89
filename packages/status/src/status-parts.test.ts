import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { certificateStatus, splitPemCertificates } from './certificates.js';
import { etcdQuorum, expectedWorkloads, groupComponents, imageVersion, parsePlacementState, podsWithoutSidecar } from './collect-status.js';
import { parseStatusOptions } from './options.js';
import { workloadStatus } from './test-fixtures.js';

const DAY = 86_400_000;
const now = new Date('2026-01-01T00:00:00Z');

describe('certificateStatus', () => {
  for (const [name, validTo, warning, expired, daysLeft] of [
    ['far away', 'Jan  1 00:00:00 2027 GMT', false, false, 365],
    ['within 60 days', 'Feb  1 00:00:00 2026 GMT', true, false, 31],
    ['expired', 'Dec 30 00:00:00 2025 GMT', true, true, -2],
  ] as const) {
    test(name, () => {
      const s = certificateStatus({ subject: 'O=cluster.local\nCN=x', validTo }, now, 60 * DAY);
      assert.deepEqual([s.warning, s.expired, s.daysLeft, s.subject], [warning, expired, daysLeft, 'O=cluster.local, CN=x']);
    });
  }

  test('splitPemCertificates keeps certificates only', () => {
    const block = (t: string): string => `-----BEGIN ${t}-----\nQUJD\n-----END ${t}-----`;
    assert.equal(splitPemCertificates(`${block('CERTIFICATE')}\n${block('PRIVATE KEY')}\n${block('CERTIFICATE')}\n`).length, 2);
  });
});

describe('collected parts', () => {
  test('imageVersion', () => {
    assert.equal(imageVersion('ghcr.io/tsdapr/tsdapr:1.2.3'), '1.2.3');
    assert.equal(imageVersion('localhost:5000/tsdapr'), 'latest');
    assert.equal(imageVersion('tsdapr@sha256:abc'), 'sha256:abc');
  });

  test('parsePlacementState counts hosts per namespace', () => {
    const state = JSON.stringify({ tables: { b: { hosts: [{ name: 'h1' }, { name: 'h2' }], version: 4 }, a: { version: 1 } } });
    assert.deepEqual(parsePlacementState(state), [
      { namespace: 'a', members: 0, version: 1 },
      { namespace: 'b', members: 2, version: 4 },
    ]);
  });

  test('groupComponents', () => {
    const item = (namespace: string, name: string, type: string): object => ({ metadata: { namespace, name }, spec: { type } });
    assert.deepEqual(groupComponents([item('b', 'z', 'state.redis'), item('a', 'p', 'pubsub.redis'), item('b', 'c', 'lock.redis')] as never), [
      { namespace: 'a', components: [{ name: 'p', type: 'pubsub.redis' }] },
      { namespace: 'b', components: [{ name: 'c', type: 'lock.redis' }, { name: 'z', type: 'state.redis' }] },
    ]);
  });

  test("etcdQuorum: a majority of the scheduler's embedded etcd members; none with an external etcd", () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => etcdQuorum(['--etcd-embed=true'], n)), [1, 2, 2, 3, 3]);
    assert.equal(etcdQuorum([], 3), 2, 'embedded is the default');
    assert.equal(etcdQuorum(['--etcd-embed'], 3), 2);
    assert.equal(etcdQuorum(['--etcd-embed=false', '--etcd-client-endpoints=http://etcd:2379'], 3), undefined);
    assert.equal(etcdQuorum(['--etcd-embed=true'], 0), undefined, 'scaled to zero');
  });

  test('expectedWorkloads: a scheduler absent on purpose is a note; otherwise it is shown', () => {
    const missing = workloadStatus('scheduler', { found: false, replicas: 0, ready: 0, quorum: undefined });
    const all = [workloadStatus('sentry'), workloadStatus('injector'), missing];
    const off = expectedWorkloads(all, ['--port=4000', '--scheduler-enabled=false']);
    assert.deepEqual(off.workloads.map((w) => w.service), ['sentry', 'injector']);
    assert.match(off.notes[0] ?? '', /no scheduler: not installed, and the injector gives sidecars no scheduler address/);
    // Told there is one (explicitly, or by upstream's default), or no injector to ask: missing is shown.
    for (const args of [['--scheduler-enabled=true'], ['--scheduler-enabled'], [], undefined]) {
      const on = expectedWorkloads(all, args);
      assert.deepEqual(on.workloads.map((w) => w.service), ['sentry', 'injector', 'scheduler'], String(args));
      assert.deepEqual(on.notes, []);
    }
    // Installed while the injector hands out no address: still shown.
    const installed = expectedWorkloads([workloadStatus('scheduler')], ['--scheduler-enabled=false']);
    assert.deepEqual(installed.workloads.map((w) => w.service), ['scheduler']);
  });

  test('podsWithoutSidecar', () => {
    const pod = (name: string, annotation: string | undefined, containers: string[], init: string[] = []): V1Pod => ({
      metadata: { name, namespace: 'apps', ...(annotation === undefined ? {} : { annotations: { 'dapr.io/enabled': annotation } }) },
      spec: { containers: containers.map((c) => ({ name: c })), initContainers: init.map((c) => ({ name: c })) },
      status: { phase: 'Pending' },
    });
    const pods = [pod('missing', 'true', ['app']), pod('yes-missing', 'Yes', ['app']), pod('injected', 'true', ['app', 'daprd']), pod('native', 'true', ['app'], ['daprd']), pod('off', 'false', ['app']), pod('plain', undefined, ['app'])];
    assert.deepEqual(podsWithoutSidecar(pods).map((p) => p.name), ['missing', 'yes-missing']);
  });
});

describe('parseStatusOptions', () => {
  test('kubectl style: status word, -o json, -n', () => {
    const o = parseStatusOptions(['status', '-o', 'json', '-n', 'cp', '--kubeconfig', '/k'], {});
    assert.deepEqual([o.output, o.controlPlaneNamespace, o.kubeconfigPath], ['json', 'cp', '/k']);
  });
  test('KUBECONFIG, then ~/.kube/config', () => {
    assert.equal(parseStatusOptions([], { KUBECONFIG: '/from/env' }).kubeconfigPath, '/from/env');
    assert.equal(parseStatusOptions([], { HOME: '/home/u' }).kubeconfigPath, '/home/u/.kube/config');
    assert.equal(parseStatusOptions(['-o=json'], {}).output, 'json');
  });
  test('a bad output format', () => {
    assert.throws(() => parseStatusOptions(['-o', 'yaml'], {}), /--output must be table or json/);
  });
  test('default warning window is 60 days', () => {
    assert.equal(parseStatusOptions([], {}).expiryWarningWindowMs, 60 * DAY);
  });
});
