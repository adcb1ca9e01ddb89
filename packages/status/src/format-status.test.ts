import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatJson, formatTable, statusWarnings, table } from './format-status.js';
import { cert, clusterStatus, workloadStatus } from './test-fixtures.js';

describe('table', () => {
  test('pads every column but the last to its widest cell', () => {
    assert.equal(table(['A', 'BB', 'C'], [['long', 'x', 'end'], ['s', 'yyy', '']]), ['A      BB    C', 'long   x     end', 's      yyy'].join('\n'));
  });
});

describe('formatTable', () => {
  test('a healthy control plane', () => {
    const text = formatTable(clusterStatus());
    assert.match(text, /CONTROL PLANE \(namespace dapr-system\)/);
    assert.match(text, /sentry +Deployment +dapr-sentry +1\/1 +1 +1\.0\.0 +yes/);
    assert.match(text, /placement +StatefulSet +dapr-placement-server +1\/1/);
    assert.match(text, /scheduler +StatefulSet +dapr-scheduler-server +3\/3 +3 +1\.0\.0 +yes/);
    assert.match(text, /trust anchor +O=cluster\.local +2027-01-01T00:00:00\.000Z +365 +ok/);
    assert.match(text, /leader: dapr-placement-server-0 \(lease renewed 2026-01-01T00:00:00\.000Z\)/);
    assert.match(text, /apps +2 +7/);
    assert.match(text, /apps +1 +statestore \(state\.redis\)/);
    assert.match(text, /No warnings\./);
  });

  const cases: { name: string; status: Parameters<typeof formatTable>[0]; expect: RegExp[]; warnings: number }[] = [
    {
      name: 'a service not ready and one missing',
      status: clusterStatus({ workloads: [workloadStatus('sentry', { replicas: 3, ready: 1 }), workloadStatus('operator', { found: false, replicas: 0, ready: 0 })] }),
      expect: [/sentry +Deployment +dapr-sentry +1\/3 .* no/, /operator +Deployment +dapr-operator +- +- +- +missing/, /dapr-sentry: 1 of 3 replicas ready/, /Deployment dapr-operator is missing/],
      warnings: 2,
    },
    {
      name: 'an anchor expiring within the window, an expired issuer',
      status: clusterStatus({ trust: { anchors: [cert({ daysLeft: 30, warning: true })], issuer: cert({ subject: 'CN=issuer', daysLeft: -2, warning: true, expired: true }), notes: [] } }),
      expect: [/WARNING: expires in 30 days/, /issuer +CN=issuer .* EXPIRED/, /trust anchor "O=cluster\.local" expires in 30 days/, /issuer "CN=issuer" has expired/],
      warnings: 2,
    },
    {
      name: 'a scheduler replica down: still a quorum',
      status: clusterStatus({ workloads: [workloadStatus('scheduler', { ready: 2 })] }),
      expect: [/scheduler +StatefulSet +dapr-scheduler-server +2\/3 .* no/, /dapr-scheduler-server: 2 of 3 replicas ready$/m],
      warnings: 1,
    },
    {
      name: 'a scheduler below its etcd quorum',
      status: clusterStatus({ workloads: [workloadStatus('scheduler', { ready: 1 })] }),
      expect: [/dapr-scheduler-server: 1 of 3 replicas ready, below the 2 its embedded etcd needs for a quorum: no job is stored or triggered/],
      warnings: 1,
    },
    {
      name: 'a scheduler on an external etcd has no quorum of its own',
      status: clusterStatus({ workloads: [workloadStatus('scheduler', { ready: 1, quorum: undefined })] }),
      expect: [/dapr-scheduler-server: 1 of 3 replicas ready$/m],
      warnings: 1,
    },
    {
      name: 'a scheduler missing',
      status: clusterStatus({ workloads: [workloadStatus('scheduler', { found: false, replicas: 0, ready: 0, quorum: undefined })] }),
      expect: [/scheduler +StatefulSet +dapr-scheduler-server +- +- +- +missing/, /StatefulSet dapr-scheduler-server is missing/],
      warnings: 1,
    },
    {
      name: 'no scheduler on purpose: a note, no warning',
      status: clusterStatus({ workloads: [workloadStatus('sentry')], workloadNotes: ['no scheduler: not installed'] }),
      expect: [/sentry +Deployment[^\n]*\n {2}note: no scheduler: not installed/],
      warnings: 0,
    },
    {
      name: 'pods without their sidecar',
      status: clusterStatus({ podsWithoutSidecar: [{ namespace: 'apps', name: 'web-1', phase: 'Running' }] }),
      expect: [/apps +web-1 +Running/, /pod apps\/web-1 has dapr\.io\/enabled but no daprd container/],
      warnings: 1,
    },
    {
      name: 'what could not be read becomes notes',
      status: clusterStatus({
        trust: { anchors: [], issuer: undefined, notes: ['Secret dapr-system/dapr-trust-bundle cannot be read: HTTP 403 Forbidden'] },
        placement: { leader: undefined, leaseRenewed: undefined, namespaces: undefined, notes: ['members per namespace: placement does not serve /placement/state'] },
        components: undefined,
        componentsNote: 'the components.dapr.io CRD is not installed',
      }),
      expect: [/note: Secret dapr-system\/dapr-trust-bundle cannot be read: HTTP 403/, /leader: -\n/, /note: members per namespace/, /note: the components\.dapr\.io CRD is not installed/],
      warnings: 0,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const text = formatTable(c.status);
      for (const re of c.expect) assert.match(text, re);
      assert.equal(statusWarnings(c.status).length, c.warnings);
      if (c.warnings > 0) assert.match(text, new RegExp(`WARNINGS \\(${c.warnings}\\)`));
    });
  }
});

describe('formatJson', () => {
  test('is the status plus its warnings', () => {
    const status = clusterStatus({ podsWithoutSidecar: [{ namespace: 'a', name: 'p', phase: 'Pending' }] });
    const parsed = JSON.parse(formatJson(status)) as Record<string, unknown>;
    assert.deepEqual(parsed.workloads, status.workloads);
    assert.deepEqual(parsed.warnings, ['pod a/p has dapr.io/enabled but no daprd container']);
  });
});
