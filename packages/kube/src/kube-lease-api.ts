import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { KubeApiError, isConflict, isNotFound } from './api-errors.js';
import { requestOptions } from './request-options.js';
import type { LeaseApi, LeaseRecord } from './lease-election.js';

export interface KubeLeaseApiOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  /** Each request gives up after this long, so a hung API server cannot outlast the renew deadline. */
  readonly requestTimeoutMs: number;
}

/** The election's Lease as a `coordination.k8s.io/v1` Lease in the API server. */
export function kubeLeaseApi(options: KubeLeaseApiOptions): LeaseApi {
  const api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const { namespace, name } = options;
  const what = `lease ${namespace}/${name}`;
  const call = () => requestOptions({ timeoutMs: options.requestTimeoutMs });

  return {
    async get() {
      let lease: V1Lease;
      try {
        lease = await api.readNamespacedLease({ namespace, name }, call());
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw KubeApiError.from(err, `get ${what}`);
      }
      const spec = lease.spec ?? {};
      const record: LeaseRecord = {
        holderIdentity: spec.holderIdentity ?? '',
        leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
        acquireTime: spec.acquireTime ? new Date(spec.acquireTime) : undefined,
        renewTime: spec.renewTime ? new Date(spec.renewTime) : undefined,
        leaseTransitions: spec.leaseTransitions ?? 0,
      };
      return { record, resourceVersion: lease.metadata?.resourceVersion ?? '' };
    },
    async create(record) {
      try {
        await api.createNamespacedLease({ namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: toSpec(record) } }, call());
      } catch (err) {
        throw KubeApiError.from(err, `create ${what}`);
      }
    },
    async update(record, resourceVersion) {
      try {
        await api.replaceNamespacedLease(
          { namespace, name, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, resourceVersion }, spec: toSpec(record) } },
          call(),
        );
      } catch (err) {
        throw KubeApiError.from(err, `update ${what}`);
      }
    },
    isConflict: (err) => isConflict(err),
  };
}

function toSpec(record: LeaseRecord): NonNullable<V1Lease['spec']> {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTime ? { acquireTime: new V1MicroTime(record.acquireTime.getTime()) } : {}),
    ...(record.renewTime ? { renewTime: new V1MicroTime(record.renewTime.getTime()) } : {}),
    leaseTransitions: record.leaseTransitions,
  };
}
