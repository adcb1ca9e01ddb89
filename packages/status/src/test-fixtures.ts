import type { CertificateStatus, ClusterStatus, WorkloadStatus } from './status-model.js';

/** Small builders for status fixtures in tests. */
export function workloadStatus(service: WorkloadStatus['service'], overrides: Partial<WorkloadStatus> = {}): WorkloadStatus {
  const names = { sentry: 'dapr-sentry', operator: 'dapr-operator', placement: 'dapr-placement-server', injector: 'dapr-sidecar-injector', scheduler: 'dapr-scheduler-server' } as const;
  const scheduler = service === 'scheduler' ? { replicas: 3, ready: 3, updated: 3, quorum: 2 } : {};
  return { service, kind: service === 'placement' || service === 'scheduler' ? 'StatefulSet' : 'Deployment', name: names[service], found: true, replicas: 1, ready: 1, updated: 1, version: '1.0.0', image: 'ghcr.io/tsdapr/tsdapr:1.0.0', ...scheduler, ...overrides };
}

export function cert(overrides: Partial<CertificateStatus> = {}): CertificateStatus {
  return { subject: 'O=cluster.local', notAfter: '2027-01-01T00:00:00.000Z', daysLeft: 365, warning: false, expired: false, ...overrides };
}

export function clusterStatus(overrides: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    controlPlaneNamespace: 'dapr-system',
    generatedAt: '2026-01-01T00:00:00.000Z',
    workloads: (['sentry', 'operator', 'placement', 'injector', 'scheduler'] as const).map((s) => workloadStatus(s)),
    workloadNotes: [],
    trust: { anchors: [cert()], issuer: cert({ subject: 'O=cluster.local, CN=issuer' }), notes: [] },
    placement: { leader: 'dapr-placement-server-0', leaseRenewed: '2026-01-01T00:00:00.000Z', namespaces: [{ namespace: 'apps', members: 2, version: 7 }], notes: [] },
    components: [{ namespace: 'apps', components: [{ name: 'statestore', type: 'state.redis' }] }],
    componentsNote: undefined,
    podsWithoutSidecar: [],
    podsNote: undefined,
    ...overrides,
  };
}
