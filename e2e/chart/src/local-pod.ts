import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { binaryPath, pollUntil, probe, repoRoot, startProcess, type ManagedProcess } from '@tsdapr/e2e-harness';
import { containerArgv, containerEnv, LOCAL_POD_IP, mountPlan, runtimeSettings, type ContainerRuntimeSettings, type MountPlan, type PortMap, type VolumeSource } from './pod-process.js';

/**
 * A control-plane pod of the installed chart run as a local process, doing
 * what the kubelet and the container runtime do for it:
 *
 * - its volumes are written to a local directory from the installed objects
 *   (Secret and ConfigMap contents, downward-API fields, and projected
 *   service-account tokens from a TokenRequest bound to this very pod, with
 *   the audience and lifetime the pod asks for);
 * - the process runs in a private mount namespace (`unshare --mount`) where
 *   each directory is bind-mounted at the pod's mountPath. Paths are not
 *   rewritten, because the services also read fixed in-pod paths no flag
 *   names (the in-cluster service-account token the Kubernetes client loads,
 *   the injector's Sentry token at /var/run/secrets/dapr.io/sentrytoken). It
 *   also gets its own UTS namespace whose host name is the pod's name, as in
 *   a pod (the operator's Lease holder is its host name);
 * - as in the container: the root file system read-only when the chart says
 *   so (a bind remount inside that namespace only), the image's user 65532
 *   unless the pod names another, and only the pod's environment (`env -i`):
 *   no kubeconfig of the test leaks in, so each service talks to the API
 *   server as its own ServiceAccount, through the chart's RBAC;
 * - the image's etcd (Dockerfile: /usr/local/bin/etcd, which the scheduler
 *   runs as `etcd` from the PATH) is the one the tests build: its directory
 *   is bind-mounted read-only under /run/tsdapr-image and put first on the
 *   image's PATH, since /usr/local/bin cannot gain a file without changing
 *   the host;
 * - the pod's IP is 127.0.0.1 (status.podIP in its env), since all local
 *   pods share the test's network namespace; it is not written to the pod's
 *   status (the endpoint controllers refuse loopback addresses);
 * - a PersistentVolumeClaim is a fresh directory (no provisioner binds the
 *   claim here), owned by the pod's fsGroup as the kubelet makes it;
 * - once its readiness probe answers 200 the pod's status is set Ready, as
 *   the kubelet would, so that the workload's readyReplicas count it; once
 *   stopped, not ready again.
 */

/** The image's ENV and USER (Dockerfile). */
const IMAGE_ENV = { NODE_ENV: 'production', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
const IMAGE_USER = { uid: 65532, gid: 65532 };
/** Where the image's own programs (etcd) are mounted in a local pod, first on its PATH. */
const IMAGE_BIN = '/run/tsdapr-image/bin';

export interface RunningPod {
  readonly name: string;
  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly ports: PortMap;
  readonly argv: readonly string[];
  readonly process: ManagedProcess;
  logs(): string;
  stop(): Promise<void>;
}

/** A distinct unused local port for every container port of every container. */
export async function localPorts(containers: readonly V1Container[]): Promise<PortMap[]> {
  const declared = containers.map((c) => (c.ports ?? []).map((p) => p.containerPort));
  const free = await unusedListenPorts(declared.flat().length);
  let next = 0;
  return declared.map((ports) => new Map(ports.map((port) => [port, free[next++] ?? 0])));
}

/**
 * Ports below the kernel's ephemeral range, free on every interface (the
 * services listen on all of them, as in a pod). Not port 0's answer: that
 * comes from the ephemeral range, where any outgoing connection of any
 * process may take it before the service, started seconds later, listens
 * (seen: EADDRINUSE on a metrics port while other tests ran).
 */
export async function unusedListenPorts(count: number): Promise<number[]> {
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999');
  const ephemeralLow = Number(range.trim().split(/\s+/)[0]) || 32768;
  const low = 10_000;
  if (ephemeralLow - low < count * 10) throw new Error(`too few ports below the ephemeral range (${ephemeralLow}) for ${count}`);
  const held: Server[] = [];
  try {
    const ports: number[] = [];
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt > count * 50) throw new Error(`no ${count} free ports between ${low} and ${ephemeralLow}`);
      const port = low + Math.floor(Math.random() * (ephemeralLow - low));
      if (ports.includes(port)) continue;
      const server = createServer();
      // Held until all are chosen, so that they differ.
      if (await listens(server, port)) {
        held.push(server);
        ports.push(port);
      }
    }
    return ports;
  } finally {
    await Promise.all(held.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

function listens(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ port, host: '::', ipv6Only: false }, () => resolve(true));
  });
}

export interface StartLocalPodOptions {
  readonly kubeConfig: KubeConfig;
  readonly pod: V1Pod;
  readonly ports: PortMap;
  readonly addresses: ReadonlyMap<string, string>;
  readonly apiServer: { readonly host: string; readonly port: number };
  readonly logFile?: string;
  readonly readyTimeoutMs?: number;
}

export async function startLocalPod(options: StartLocalPodOptions): Promise<RunningPod> {
  const { ports } = options;
  // The kubelet's first step: the pod's sandbox and its IP.
  const pod: V1Pod = { ...options.pod, status: { ...options.pod.status, podIP: LOCAL_POD_IP, podIPs: [{ ip: LOCAL_POD_IP }] } };
  const name = pod.metadata?.name ?? '';
  const container = pod.spec?.containers[0];
  if (!container) throw new Error(`pod ${name} has no container`);
  const dir = await mkdtemp(join(tmpdir(), `tsdapr-pod-${name}-`));
  let child: ManagedProcess | undefined;
  let output = '';
  let ready = false;
  let logStream: WriteStream | undefined;
  const stop = async (): Promise<void> => {
    await child?.stop(5000);
    await new Promise<void>((resolve) => (logStream ? logStream.end(resolve) : resolve()));
    await rm(dir, { recursive: true, force: true });
    if (ready) await setReady(options.kubeConfig, pod, container, false);
    ready = false;
  };
  try {
    const runtime = runtimeSettings(pod, container, IMAGE_USER);
    const mounts = [...(await materializeVolumes(options.kubeConfig, pod, mountPlan(pod, container), dir)), { source: dirname(binaryPath('etcd')), mountPath: IMAGE_BIN, readOnly: true }];
    const env = containerEnv({ pod, container, addresses: options.addresses, apiServer: options.apiServer, imageEnv: { ...IMAGE_ENV, PATH: `${IMAGE_BIN}:${IMAGE_ENV.PATH}` } });
    const argv = containerArgv({ container, env, addresses: options.addresses, ports });
    // The image runs `node` from its WORKDIR, which holds the workspace layout: here the repository.
    const [command, ...args] = argv;
    if (command !== 'node') throw new Error(`pod ${name}: the chart runs "${command}", not node`);
    const envArgs = [...env.entries()].map(([key, value]) => `${key}=${value}`);
    // Output is kept in memory (the test reads it) and, when asked, in a file too.
    logStream = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
    child = startProcess({
      name,
      command: 'unshare',
      args: ['--mount', '--uts', '--propagation', 'private', '--', '/bin/sh', '-c', podScript(name, mounts, runtime, [repoRoot(), dirname(process.execPath)]), 'pod', 'env', '-i', ...envArgs, process.execPath, ...args],
      cwd: repoRoot(),
      onOutput: (chunk) => {
        logStream?.write(chunk);
        output += chunk.toString('utf8');
        if (output.length > 2_000_000) output = output.slice(-1_000_000);
      },
    });
    const running = child;
    const probePort = readinessPort(container, ports);
    await pollUntil(
      `${name} /readyz`,
      async () => {
        if (running.hasExited()) throw new Error(`${name} exited`);
        const response = await probe(`http://127.0.0.1:${probePort}${container.readinessProbe?.httpGet?.path ?? '/readyz'}`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      },
      { timeoutMs: options.readyTimeoutMs ?? 120_000 },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- ${name} (${argv.join(' ')}) output ---\n${output.slice(-4000)}`, { cause: err });
    });
    await setReady(options.kubeConfig, pod, container, true);
    ready = true;
    return { name, pod, container, ports, argv, process: running, logs: () => output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function readinessPort(container: V1Container, ports: PortMap): number {
  const port = container.readinessProbe?.httpGet?.port;
  const number = typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
  const local = number === undefined ? undefined : ports.get(number);
  if (local === undefined) throw new Error(`container ${container.name}: its readiness probe port ${String(port)} is not one of its ports`);
  return local;
}

export interface LocalMount {
  readonly source: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

/** Writes each mounted volume's files under `dir`, in the pod's mount order. */
async function materializeVolumes(kc: KubeConfig, pod: V1Pod, plan: readonly MountPlan[], dir: string): Promise<LocalMount[]> {
  const mounts: LocalMount[] = [];
  for (const mount of plan) {
    const source = join(dir, mount.volume);
    // The kubelet's modes: an emptyDir anyone may write, volume files 0644 in 0755 directories.
    await mkdir(source, { recursive: true, mode: 0o755 });
    if (mount.sources.some((s) => s.kind === 'emptyDir')) await chmod(source, 0o777);
    const fsGroup = pod.spec?.securityContext?.fsGroup;
    if (mount.sources.some((s) => s.kind === 'persistentVolumeClaim') && fsGroup !== undefined) {
      // A new volume's root is root's; the kubelet gives it to the fsGroup (group rwx, setgid).
      await chown(source, 0, fsGroup);
      await chmod(source, 0o2775);
    }
    for (const volumeSource of mount.sources) await writeVolumeSource(kc, pod, volumeSource, source);
    mounts.push({ source, mountPath: mount.mountPath, readOnly: mount.readOnly });
  }
  return mounts;
}

async function writeVolumeSource(kc: KubeConfig, pod: V1Pod, source: VolumeSource, dir: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = pod.metadata?.namespace ?? '';
  const write = async (path: string, content: string | Buffer): Promise<void> => {
    await mkdir(dirname(join(dir, path)), { recursive: true, mode: 0o755 });
    await writeFile(join(dir, path), content, { mode: 0o644 });
  };
  const writeKeys = async (data: Record<string, Buffer>, items: readonly { key: string; path: string }[] | undefined): Promise<void> => {
    for (const { key, path } of items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) {
      const value = data[key];
      if (value === undefined) throw new Error(`pod ${pod.metadata?.name}: key ${key} is missing from its volume source`);
      await write(path, value);
    }
  };
  switch (source.kind) {
    case 'emptyDir':
    case 'persistentVolumeClaim':
      return;
    case 'downwardAPI':
      return write(source.path, source.value);
    case 'configMap': {
      const cm = await core.readNamespacedConfigMap({ name: source.name, namespace });
      const data: Record<string, Buffer> = {};
      for (const [key, value] of Object.entries(cm.data ?? {})) data[key] = Buffer.from(value, 'utf8');
      for (const [key, value] of Object.entries(cm.binaryData ?? {})) data[key] = Buffer.from(value, 'base64');
      return writeKeys(data, source.items);
    }
    case 'secret': {
      const secret = await core.readNamespacedSecret({ name: source.name, namespace });
      const data: Record<string, Buffer> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64');
      return writeKeys(data, source.items);
    }
    case 'serviceAccountToken': {
      // What the kubelet asks for: a token of the pod's ServiceAccount bound to this pod.
      const request = await core.createNamespacedServiceAccountToken({
        namespace,
        name: pod.spec?.serviceAccountName ?? 'default',
        body: {
          spec: {
            audiences: source.audience === undefined ? [] : [source.audience],
            expirationSeconds: source.expirationSeconds,
            boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
          },
        },
      });
      return write(source.path, request.status?.token ?? '');
    }
  }
}

/**
 * The shell run inside the new namespaces: the pod's host name, a tmpfs over /run (the
 * host's /var/run stays untouched outside), each volume bind-mounted at its
 * mountPath (read-only where the pod says so), /tmp last because the volume
 * directories live there; the root file system read-only if asked, by a
 * *bind* remount, which changes this namespace's mount only (a plain
 * `remount,ro` would change the file system for every process on the
 * machine); then `exec "$@"` as the container's user, still killed with the
 * test process (setpriv sets the parent-death signal after the user change,
 * which would clear it).
 */
export function podScript(hostname: string, mounts: readonly LocalMount[], runtime: ContainerRuntimeSettings, hostPaths: readonly string[] = []): string {
  const lines = ['set -e', `hostname ${quote(hostname)}`];
  const underRun = (path: string): boolean => /^\/(var\/)?run\//.test(path);
  for (const mount of mounts) {
    if (!underRun(mount.mountPath) && mount.mountPath !== '/tmp') throw new Error(`mountPath ${mount.mountPath}: only paths under /var/run and /tmp are mounted locally`);
  }
  if (mounts.some((m) => underRun(m.mountPath))) lines.push('mount -t tmpfs tmpfs /run');
  const ordered = [...mounts.filter((m) => m.mountPath !== '/tmp'), ...mounts.filter((m) => m.mountPath === '/tmp')];
  for (const mount of ordered) {
    if (mount.mountPath === '/tmp') {
      // The pod's /tmp hides the host's, where the repository may live (a CI
      // clone in /tmp): those directories are bound into the volume at the
      // same path first and carried along by a recursive bind.
      for (const path of hostPaths.filter((p) => p.startsWith('/tmp/'))) {
        const inside = `${mount.source}${path.slice('/tmp'.length)}`;
        lines.push(`mkdir -p ${quote(inside)}`, `mount --bind ${quote(path)} ${quote(inside)}`);
      }
      lines.push(`mkdir -p ${quote(mount.mountPath)}`, `mount --rbind ${quote(mount.source)} ${quote(mount.mountPath)}`);
      if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${quote(mount.mountPath)}`);
      continue;
    }
    lines.push(`mkdir -p ${quote(mount.mountPath)}`, `mount --bind ${quote(mount.source)} ${quote(mount.mountPath)}`);
    if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${quote(mount.mountPath)}`);
  }
  if (runtime.readOnlyRootFilesystem) lines.push('mount -o remount,bind,ro /');
  lines.push(`exec setpriv --reuid=${runtime.uid} --regid=${runtime.gid} --clear-groups --pdeathsig=KILL "$@"`);
  return lines.join('\n');
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The kubelet's part: Running and Ready after a passing readiness probe;
 * not ready once the process is gone, still Running as a container the
 * kubelet would restart (Failed would make the controllers replace the pod).
 * A pod already deleted, by a rollout or an uninstall, has nothing to report.
 */
async function setReady(kc: KubeConfig, pod: V1Pod, container: V1Container, ready: boolean): Promise<void> {
  const now = new Date().toISOString();
  const status = ready ? 'True' : 'False';
  const condition = (type: string, value: string): Record<string, string> => ({ type, status: value, lastTransitionTime: now });
  const state = ready ? { running: { startedAt: now } } : { terminated: { exitCode: 0, reason: 'Completed', finishedAt: now } };
  try {
    await kc.makeApiClient(CoreV1Api).patchNamespacedPodStatus(
      {
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
        body: {
          status: {
            phase: 'Running',
            conditions: [condition('PodScheduled', 'True'), condition('Initialized', 'True'), condition('ContainersReady', status), condition('Ready', status)],
            containerStatuses: [{ name: container.name, image: container.image ?? '', imageID: '', ready, started: ready, restartCount: 0, state }],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  } catch (err) {
    if (ready || (err as { code?: number }).code !== 404) throw err;
  }
}
