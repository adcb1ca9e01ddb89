import type { V1Container, V1EnvVar, V1Pod, V1Service, V1Volume } from '@kubernetes/client-node';

/**
 * How a control-plane pod the chart created runs as a local process: what the
 * kubelet and the cluster network would do, as pure data.
 *
 * Only addresses and ports change: an in-cluster Service address
 * (`dapr-sentry.<ns>.svc.cluster.local:443`) becomes the 127.0.0.1 port of the
 * local process behind it, and a container port (`--port=50001`) becomes a
 * free local port, because the services share one network namespace here
 * (every pod's IP is 127.0.0.1). A StatefulSet pod's own DNS name under its
 * headless Service (`dapr-scheduler-server-0.dapr-scheduler-server.<ns>.svc
 * .cluster.local:2380`, the scheduler's etcd peers) becomes that pod's local
 * port. Mounted files keep their paths: they are bind-mounted at the pod's
 * mount paths (see local-pod.ts), so every other flag stays as the chart has it.
 */

/** The IP every local pod has: they share the test's network namespace. */
export const LOCAL_POD_IP = '127.0.0.1';

/** containerPort → the local port standing in for it, for one process. */
export type PortMap = ReadonlyMap<number, number>;

/** A pod that runs locally, with its ports. */
export interface LocalPod {
  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly ports: PortMap;
}

export class PodProcessError extends Error {
  constructor(
    readonly code: 'unsupported_env' | 'unsupported_volume' | 'unknown_port' | 'no_container',
    message: string,
  ) {
    super(message);
  }
}

/**
 * In-cluster address (`host:port`) → `127.0.0.1:<local port>`, for every port
 * of every Service whose selector matches a local pod, under every name a pod
 * resolves it by (`name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<domain>`);
 * for a headless Service also each matching pod's own name
 * (`<hostname>.<subdomain>` and the same longer forms: the pod's
 * spec.hostname and spec.subdomain, which a StatefulSet sets to the pod name
 * and its serviceName) to that pod's port; plus the API server as
 * `kubernetes.default.svc`.
 */
export function clusterAddressMap(input: {
  readonly services: readonly V1Service[];
  readonly pods: readonly LocalPod[];
  readonly clusterDomain: string;
  readonly apiServer: { readonly host: string; readonly port: number };
}): Map<string, string> {
  const addresses = new Map<string, string>();
  const add = (name: string, namespace: string, port: number, target: string): void => {
    for (const host of [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${input.clusterDomain}`]) addresses.set(`${host}:${port}`, target);
  };
  add('kubernetes', 'default', 443, `${input.apiServer.host}:${input.apiServer.port}`);
  for (const service of input.services) {
    const namespace = service.metadata?.namespace ?? '';
    const selector = service.spec?.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    const local = input.pods.find((p) => p.pod.metadata?.namespace === namespace && matchesSelector(p.pod.metadata?.labels ?? {}, selector));
    if (!local) continue;
    const serviceName = service.metadata?.name ?? '';
    const target = (pod: LocalPod, port: { port: number; targetPort?: number | string }): string | undefined => {
      const containerPort = resolveTargetPort(pod.container, port.targetPort ?? port.port);
      const localPort = containerPort === undefined ? undefined : pod.ports.get(containerPort);
      return localPort === undefined ? undefined : `${LOCAL_POD_IP}:${localPort}`;
    };
    for (const port of service.spec?.ports ?? []) {
      const address = target(local, port);
      if (address !== undefined) add(serviceName, namespace, port.port, address);
    }
    if (service.spec?.clusterIP !== 'None') continue;
    // Headless: one DNS name per pod that names this Service as its subdomain.
    for (const pod of input.pods) {
      const spec = pod.pod.spec;
      if (pod.pod.metadata?.namespace !== namespace || spec?.subdomain !== serviceName || !spec.hostname || !matchesSelector(pod.pod.metadata.labels ?? {}, selector)) continue;
      for (const port of service.spec.ports ?? []) {
        const address = target(pod, port);
        if (address !== undefined) add(`${spec.hostname}.${serviceName}`, namespace, port.port, address);
      }
    }
  }
  return addresses;
}

function matchesSelector(labels: Record<string, string>, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** A Service's targetPort (a number, or the name of a container port) to the container port. */
export function resolveTargetPort(container: V1Container, targetPort: number | string): number | undefined {
  if (typeof targetPort === 'number') return targetPort;
  if (/^\d+$/.test(targetPort)) return Number(targetPort);
  return container.ports?.find((p) => p.name === targetPort)?.containerPort;
}

/** Replaces every in-cluster address in `value` with its local one; hosts only match whole. */
export function rewriteAddresses(value: string, addresses: ReadonlyMap<string, string>): string {
  // Longest first, so that `name.ns.svc.cluster.local:443` wins over `name:443` inside it.
  const keys = [...addresses.keys()].sort((a, b) => b.length - a.length);
  let result = value;
  for (const key of keys) {
    const pattern = new RegExp(`(^|[^A-Za-z0-9.-])${escapeRegExp(key)}(?![0-9])`, 'g');
    result = result.replace(pattern, (_match, before: string) => `${before}${addresses.get(key) ?? key}`);
  }
  return result;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `--<anything>port=N` (or `--<anything>port N`) where N is one of the container's ports → its local port. */
export function rewritePortFlags(args: readonly string[], ports: PortMap): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = /^(--?[A-Za-z0-9-]*port)=(\d+)$/.exec(arg);
    if (eq) {
      out.push(`${eq[1]}=${ports.get(Number(eq[2])) ?? eq[2]}`);
      continue;
    }
    const next = args[i + 1];
    if (/^--?[A-Za-z0-9-]*port$/.test(arg) && next !== undefined && /^\d+$/.test(next)) {
      out.push(arg, String(ports.get(Number(next)) ?? next));
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** The kubelet's `$(VAR)` expansion in command, args and env values: unknown names stay, `$$` escapes. */
export function expandVariables(value: string, vars: ReadonlyMap<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && vars.has(name) ? (vars.get(name) ?? '') : match;
  });
}

/** The downward-API fields a container env or volume may read, from the pod as the API server has it. */
export function podField(pod: V1Pod, fieldPath: string): string {
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'status.podIP':
    case 'status.podIPs': {
      // The kubelet's value once the pod's sandbox has its network (local-pod.ts gives it before the start).
      const ip = pod.status?.podIP;
      if (!ip) throw new PodProcessError('unsupported_env', `downward-API field ${fieldPath}: pod ${pod.metadata?.name} has no IP yet`);
      return fieldPath === 'status.podIP' ? ip : (pod.status?.podIPs ?? [{ ip }]).map((p) => p.ip).join(',');
    }
    default:
      throw new PodProcessError('unsupported_env', `downward-API field ${fieldPath} has no local value`);
  }
}

/**
 * The container's environment as the kubelet builds it: the Service variables
 * of the API server (always set, even with enableServiceLinks false), then the
 * container's own in order, each expanded against those before it; downward-API
 * fields from the pod; addresses rewritten. The image's own ENV comes first.
 */
export function containerEnv(input: {
  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly addresses: ReadonlyMap<string, string>;
  readonly apiServer: { readonly host: string; readonly port: number };
  readonly imageEnv?: Readonly<Record<string, string>>;
}): Map<string, string> {
  const env = new Map<string, string>(Object.entries(input.imageEnv ?? {}));
  env.set('HOSTNAME', input.pod.metadata?.name ?? '');
  env.set('KUBERNETES_SERVICE_HOST', input.apiServer.host);
  env.set('KUBERNETES_SERVICE_PORT', String(input.apiServer.port));
  env.set('KUBERNETES_SERVICE_PORT_HTTPS', String(input.apiServer.port));
  for (const variable of input.container.env ?? []) env.set(variable.name, rewriteAddresses(envValue(variable, input.pod, env), input.addresses));
  return env;
}

function envValue(variable: V1EnvVar, pod: V1Pod, before: ReadonlyMap<string, string>): string {
  if (variable.valueFrom === undefined) return expandVariables(variable.value ?? '', before);
  if (variable.valueFrom.fieldRef) return podField(pod, variable.valueFrom.fieldRef.fieldPath);
  throw new PodProcessError('unsupported_env', `env ${variable.name}: only values and downward-API fieldRefs run locally`);
}

/** command + args, expanded against the env, with in-cluster addresses and container ports made local. */
export function containerArgv(input: { readonly container: V1Container; readonly env: ReadonlyMap<string, string>; readonly addresses: ReadonlyMap<string, string>; readonly ports: PortMap }): string[] {
  const argv = [...(input.container.command ?? []), ...(input.container.args ?? [])].map((a) => expandVariables(a, input.env));
  return rewritePortFlags(argv, input.ports).map((a) => rewriteAddresses(a, input.addresses));
}

/** Where a mounted volume's files come from. */
export type VolumeSource =
  | { readonly kind: 'emptyDir' }
  /** A fresh local directory, kept while the local pod runs (no provisioner binds the claim). */
  | { readonly kind: 'persistentVolumeClaim'; readonly claimName: string }
  | { readonly kind: 'configMap'; readonly name: string; readonly items?: readonly { key: string; path: string }[] }
  | { readonly kind: 'secret'; readonly name: string; readonly items?: readonly { key: string; path: string }[] }
  | { readonly kind: 'serviceAccountToken'; readonly path: string; readonly audience: string | undefined; readonly expirationSeconds: number }
  | { readonly kind: 'downwardAPI'; readonly path: string; readonly value: string };

export interface MountPlan {
  readonly volume: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
  /** A projected volume has several; the others one. */
  readonly sources: readonly VolumeSource[];
}

/** Every volumeMount of the container with where its files come from, in mount order. */
export function mountPlan(pod: V1Pod, container: V1Container): MountPlan[] {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  return (container.volumeMounts ?? []).map((mount) => {
    const volume = volumes.get(mount.name);
    if (!volume) throw new PodProcessError('unsupported_volume', `volumeMount ${mount.name} names no volume of the pod`);
    if (mount.subPath) throw new PodProcessError('unsupported_volume', `volumeMount ${mount.name}: subPath does not run locally`);
    return { volume: mount.name, mountPath: mount.mountPath, readOnly: mount.readOnly ?? false, sources: volumeSources(volume, pod) };
  });
}

function volumeSources(volume: V1Volume, pod: V1Pod): VolumeSource[] {
  const items = (list: { key: string; path: string }[] | undefined): { items?: { key: string; path: string }[] } => (list ? { items: list.map(({ key, path }) => ({ key, path })) } : {});
  if (volume.emptyDir) return [{ kind: 'emptyDir' }];
  if (volume.persistentVolumeClaim) return [{ kind: 'persistentVolumeClaim', claimName: volume.persistentVolumeClaim.claimName }];
  if (volume.configMap) return [{ kind: 'configMap', name: volume.configMap.name ?? '', ...items(volume.configMap.items) }];
  if (volume.secret) return [{ kind: 'secret', name: volume.secret.secretName ?? '', ...items(volume.secret.items) }];
  if (volume.projected) {
    return (volume.projected.sources ?? []).flatMap((source): VolumeSource[] => {
      if (source.serviceAccountToken) {
        const token = source.serviceAccountToken;
        return [{ kind: 'serviceAccountToken', path: token.path, audience: token.audience || undefined, expirationSeconds: token.expirationSeconds ?? 3600 }];
      }
      if (source.configMap) return [{ kind: 'configMap', name: source.configMap.name ?? '', ...items(source.configMap.items) }];
      if (source.secret) return [{ kind: 'secret', name: source.secret.name ?? '', ...items(source.secret.items) }];
      if (source.downwardAPI) {
        return (source.downwardAPI.items ?? []).map((item) => {
          if (!item.fieldRef) throw new PodProcessError('unsupported_volume', `volume ${volume.name}: only downward-API fieldRefs run locally`);
          return { kind: 'downwardAPI', path: item.path, value: podField(pod, item.fieldRef.fieldPath) };
        });
      }
      throw new PodProcessError('unsupported_volume', `volume ${volume.name}: a projected source of an unknown kind`);
    });
  }
  throw new PodProcessError('unsupported_volume', `volume ${volume.name}: only emptyDir, persistentVolumeClaim, configMap, secret and projected volumes run locally`);
}

/** Who the container runs as and whether its root file system is read-only, as the runtime decides. */
export interface ContainerRuntimeSettings {
  readonly uid: number;
  readonly gid: number;
  readonly readOnlyRootFilesystem: boolean;
}

/** The container's securityContext over the pod's over the image's USER. */
export function runtimeSettings(pod: V1Pod, container: V1Container, image: { readonly uid: number; readonly gid: number }): ContainerRuntimeSettings {
  const podContext = pod.spec?.securityContext;
  const own = container.securityContext;
  const uid = own?.runAsUser ?? podContext?.runAsUser ?? image.uid;
  if ((own?.runAsNonRoot ?? podContext?.runAsNonRoot) === true && uid === 0) {
    throw new PodProcessError('unsupported_env', `container ${container.name} must run as non-root but would run as uid 0`);
  }
  return { uid, gid: own?.runAsGroup ?? podContext?.runAsGroup ?? image.gid, readOnlyRootFilesystem: own?.readOnlyRootFilesystem === true };
}
