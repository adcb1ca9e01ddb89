import type { V1Service } from '@kubernetes/client-node';

/** The parts of a Deployment or StatefulSet the Service is built from. */
export interface Workload {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly uid?: string };
  readonly spec?: {
    readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
    readonly template?: { readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> } };
  };
}

export type WorkloadKind = 'Deployment' | 'StatefulSet';

export const DAPR_ENABLED = 'dapr.io/enabled';
export const APP_ID = 'dapr.io/app-id';
const RESERVED = new Set(['dapr.io/app-id', 'prometheus.io/probe', 'prometheus.io/scrape', 'prometheus.io/port', 'prometheus.io/path']);

/** Upstream's `utils.IsTruthy`. */
export function isTruthy(value: string | undefined): boolean {
  return ['y', 'yes', 'true', 'on', '1'].includes((value ?? '').trim().toLowerCase());
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function port(annotations: Readonly<Record<string, string>>, name: string, fallback: number): number {
  const raw = annotations[name];
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(value) && value > 0 && value < 65536 ? value : fallback;
}

/** `k=v,k=v` pairs from `dapr.io/sidecar-svc-annotations`. */
function extraAnnotations(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    if (key && !RESERVED.has(key)) out[key] = pair.slice(eq + 1).trim();
  }
  return out;
}

/**
 * The headless `<app-id>-dapr` Service upstream creates for a Dapr-enabled
 * workload (spec 4.4), or undefined when none should exist (not enabled,
 * no app id, or a name that is not a DNS-1123 label).
 */
export function desiredService(kind: WorkloadKind, workload: Workload): V1Service | undefined {
  const annotations = workload.spec?.template?.metadata?.annotations ?? {};
  if (!isTruthy(annotations[DAPR_ENABLED])) return undefined;
  const appId = annotations[APP_ID];
  if (!appId) return undefined;
  const name = `${appId}-dapr`;
  if (name.length > 63 || !DNS1123_LABEL.test(name)) return undefined;
  const metricsEnabled = annotations['dapr.io/enable-metrics'] === undefined || isTruthy(annotations['dapr.io/enable-metrics']);
  const metricsPort = port(annotations, 'dapr.io/metrics-port', 9090);
  const grpcPort = port(annotations, 'dapr.io/grpc-port', 50001);
  const internalPort = port(annotations, 'dapr.io/internal-grpc-port', 50002);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: workload.metadata?.namespace ?? '',
      labels: { [DAPR_ENABLED]: 'true' },
      annotations: {
        ...extraAnnotations(annotations['dapr.io/sidecar-svc-annotations']),
        [APP_ID]: appId,
        ...(metricsEnabled ? { 'prometheus.io/probe': 'true', 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metricsPort), 'prometheus.io/path': '/' } : {}),
      },
      ownerReferences: [{ apiVersion: 'apps/v1', kind, name: workload.metadata?.name ?? '', uid: workload.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      selector: { ...(workload.spec?.selector?.matchLabels ?? {}) },
      clusterIP: 'None',
      ports: [
        { name: 'dapr-http', protocol: 'TCP', port: 80, targetPort: 3500 },
        { name: 'dapr-grpc', protocol: 'TCP', port: grpcPort, targetPort: grpcPort },
        { name: 'dapr-internal', protocol: 'TCP', port: internalPort, targetPort: internalPort },
        { name: 'dapr-metrics', protocol: 'TCP', port: metricsPort, targetPort: metricsPort },
      ],
    },
  };
}

const portsOf = (service: V1Service): string =>
  JSON.stringify((service.spec?.ports ?? []).map((p) => [p.name, p.protocol ?? 'TCP', p.port, typeof p.targetPort === 'object' ? String(p.targetPort) : p.targetPort]));

/** True when the existing Service already matches everything the operator owns in it. */
export function serviceMatches(existing: V1Service, desired: V1Service): boolean {
  const sameMap = (a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean => JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());
  const owner = (s: V1Service): string => JSON.stringify((s.metadata?.ownerReferences ?? []).map((o) => [o.kind, o.name, o.uid, o.controller ?? false]));
  return (
    sameMap(existing.metadata?.labels, desired.metadata?.labels) &&
    sameMap(existing.metadata?.annotations, desired.metadata?.annotations) &&
    owner(existing) === owner(desired) &&
    sameMap(existing.spec?.selector, desired.spec?.selector) &&
    existing.spec?.clusterIP === desired.spec?.clusterIP &&
    portsOf(existing) === portsOf(desired)
  );
}
