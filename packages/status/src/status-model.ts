/** What `tsdapr status` reports: plain data, built by collect-status.ts and printed by format-status.ts. */

export type ControlPlaneService = 'sentry' | 'operator' | 'placement' | 'injector' | 'scheduler';

export interface WorkloadStatus {
  readonly service: ControlPlaneService;
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly name: string;
  readonly found: boolean;
  readonly replicas: number;
  readonly ready: number;
  readonly updated: number;
  /** The tag of the service's image (the chart's global.tag), or the whole reference when it has none. */
  readonly version: string | undefined;
  readonly image: string | undefined;
  /**
   * Scheduler with embedded etcd: the ready replicas its etcd needs for a
   * quorum (a majority); below it no job is stored or triggered.
   */
  readonly quorum?: number;
}

export interface CertificateStatus {
  readonly subject: string;
  readonly notAfter: string;
  readonly daysLeft: number;
  /** Expires within the warning window (or has expired). */
  readonly warning: boolean;
  readonly expired: boolean;
}

export interface TrustStatus {
  /** From the dapr-trust-bundle ConfigMap. */
  readonly anchors: readonly CertificateStatus[];
  /** The leaf of the issuer chain in the dapr-trust-bundle Secret. */
  readonly issuer: CertificateStatus | undefined;
  /** Why a part is missing (not created yet, not readable with these credentials). */
  readonly notes: readonly string[];
}

export interface PlacementNamespace {
  readonly namespace: string;
  readonly members: number;
  readonly version: number | undefined;
}

export interface PlacementStatus {
  readonly leader: string | undefined;
  readonly leaseRenewed: string | undefined;
  /** Undefined when placement's state could not be read; `notes` says why. */
  readonly namespaces: readonly PlacementNamespace[] | undefined;
  readonly notes: readonly string[];
}

export interface ComponentsInNamespace {
  readonly namespace: string;
  readonly components: readonly { readonly name: string; readonly type: string }[];
}

export interface PodWithoutSidecar {
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
}

export interface ClusterStatus {
  readonly controlPlaneNamespace: string;
  readonly generatedAt: string;
  readonly workloads: readonly WorkloadStatus[];
  /** About the workloads: a scheduler not installed on purpose. */
  readonly workloadNotes: readonly string[];
  readonly trust: TrustStatus;
  readonly placement: PlacementStatus;
  readonly components: readonly ComponentsInNamespace[] | undefined;
  readonly componentsNote: string | undefined;
  readonly podsWithoutSidecar: readonly PodWithoutSidecar[] | undefined;
  readonly podsNote: string | undefined;
}
