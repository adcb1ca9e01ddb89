import type { Manifest } from './helm.js';

/** The parts of a rendered workload the tests read. */
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet: { path: string; port: number }; initialDelaySeconds?: number; periodSeconds?: number; failureThreshold?: number };
  readinessProbe?: { httpGet: { path: string; port: number }; initialDelaySeconds?: number; periodSeconds?: number; failureThreshold?: number };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    serviceAccountName: string;
    containers: Container[];
    volumes?: { name: string; emptyDir?: { medium?: string }; configMap?: { name: string }; secret?: { secretName: string }; projected?: { sources: { serviceAccountToken?: { audience: string; path: string; expirationSeconds: number } }[] } }[];
    affinity?: { podAntiAffinity?: Record<string, unknown>; nodeAffinity?: unknown };
    securityContext?: Record<string, unknown>;
  };
}

export interface VolumeClaimTemplate {
  metadata: { name: string };
  spec: { accessModes: string[]; storageClassName?: string; resources: { requests: { storage: string } } };
}

export interface Workload {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: PodTemplate; podManagementPolicy?: string; serviceName?: string; volumeClaimTemplates?: VolumeClaimTemplate[] };
}

/** The five control-plane workloads by service. */
export const WORKLOADS = {
  sentry: { kind: 'Deployment', name: 'dapr-sentry' },
  operator: { kind: 'Deployment', name: 'dapr-operator' },
  placement: { kind: 'StatefulSet', name: 'dapr-placement-server' },
  injector: { kind: 'Deployment', name: 'dapr-sidecar-injector' },
  scheduler: { kind: 'StatefulSet', name: 'dapr-scheduler-server' },
} as const;

export type Service = keyof typeof WORKLOADS;
export const SERVICES = Object.keys(WORKLOADS) as Service[];

export function workload(manifest: Manifest, service: Service): Workload {
  const { kind, name } = WORKLOADS[service];
  return manifest.get<Workload>(kind, name);
}

export function container(manifest: Manifest, service: Service): Container {
  const c = workload(manifest, service).spec.template.spec.containers[0];
  if (!c) throw new Error(`${service} has no container`);
  return c;
}

/** The value of `--name=value` in a container's args. */
export function flag(c: Container, name: string): string | undefined {
  const prefix = `--${name}=`;
  return c.args?.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

export function env(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}
