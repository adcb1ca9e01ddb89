/**
 * A real Kubernetes node next to a harness cluster (cluster.ts): containerd
 * and runc run the pods' containers, the CNI bridge plugin wires them to a
 * host bridge, kube-proxy programs Services in iptables, kube-scheduler
 * places pods and CoreDNS answers cluster DNS on the bridge gateway.
 *
 * A second kube-apiserver on the cluster's etcd, bound to the node IP on the
 * cluster's port and with the same serving certificate, does two things the
 * loopback-only cluster apiserver cannot: it knows a `system:node:<name>`
 * token (so the Node authorizer and NodeRestriction see a real node), and it
 * publishes the node IP as the `kubernetes` Service's endpoint (so pods reach
 * the API at kubernetes.default.svc).
 *
 * Every process is a ManagedProcess child of this one; the host state the
 * node changes (host-network.ts) is undone by stop(), and by the next
 * startNode or cleanupStaleNode() after a crash.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { binaryPath } from '../binaries.js';
import type { Cluster } from '../cluster.js';
import { freePorts } from '../free-port.js';
import { expectOk, pollUntil, probe } from '../http-probe.js';
import { exitAsError, logTail, startProcess, type ManagedProcess } from '../managed-process.js';
import {
  POD_NETWORK,
  bridgeExists,
  commandEnv,
  createBridge,
  deleteBridge,
  deleteCachedPodNetworks,
  killAll,
  primaryIPv4,
  processesMentioning,
  readIpForward,
  removeContainersUnder,
  removeHostLeftovers,
  removeKubeletChains,
  removeKubepodsCgroups,
  run,
  runOrThrow,
  unmountUnder,
  writeIpForward,
} from './host-network.js';
import { containerdConfig, cniConflist, corefile, kubeProxyConfig, kubeletConfig, nodeKubeconfig } from './node-config.js';
import { acquireNodeLock, lockOwnerAlive, NodeLockedError, readNodeLock, releaseNodeLock, removeStaleNodeLock, type NodeLock } from './node-lock.js';
import { findCommand } from './node-support.js';

export interface NodeOptions {
  /** The pod sandbox ("pause") image, e.g. `localhost/tsdapr/pause:3.10`; never pulled, so it must be among `images`. */
  readonly sandboxImage: string;
  /** OCI image archives to import before the kubelet starts; more can come later through importImages. */
  readonly images?: readonly string[];
  /** The Node's name. The lower-cased hostname when absent. */
  readonly name?: string;
  /** containerd's root and state, the kubelet's root, CNI state. A fresh temp dir when absent; removed by stop() either way. */
  readonly stateDir?: string;
  /** Where each component's log goes (kept after stop). `<cluster.logDir>/node` when absent. */
  readonly logDir?: string;
  /**
   * How long to wait for another node on this machine to stop (test files
   * that run side by side and each need a node); 0, the default: fail at
   * once with a NodeLockedError.
   */
  readonly lockWaitMs?: number;
}

export type NodeComponent = 'containerd' | 'kube-apiserver-node' | 'kubelet' | 'kube-scheduler' | 'kube-proxy' | 'coredns';

export interface Node {
  /** The Node object's name. */
  readonly name: string;
  /** The node's InternalIP: the host's primary IPv4, where the node-facing API server listens. */
  readonly ip: string;
  /** The pods' subnet on the bridge, e.g. `10.88.77.0/24`. */
  readonly podCidr: string;
  /** The cluster DNS server the pods get (the bridge gateway, where CoreDNS listens). */
  readonly dnsIp: string;
  /** The cluster's admin kubeconfig (the node adds no user of its own for tests). */
  readonly kubeconfigPath: string;
  /** The kubelet's kubeconfig: the `system:node:<name>` identity against the node-facing API server. */
  readonly nodeKubeconfigPath: string;
  readonly stateDir: string;
  readonly logDir: string;
  /** Component name to pid (the current kubelet's after restartKubelet). */
  readonly pids: Readonly<Record<NodeComponent, number>>;
  /** Resolves when a component exits on its own (not by stop() or restartKubelet()), e.g. `kubelet exited with code 1`. */
  readonly exited: Promise<string>;
  /**
   * Imports OCI image archives into containerd's `k8s.io` namespace, where
   * the kubelet sees them. Each archive names its image (the
   * `io.containerd.image.name` annotation); pods use them with
   * `imagePullPolicy: Never` (or a non-`latest` tag and `IfNotPresent`).
   */
  importImages(archives: readonly string[]): Promise<void>;
  /** Gives an imported image a second name, e.g. the one a chart or the injector asks for. */
  tagImage(from: string, to: string): Promise<void>;
  /** The image names containerd holds for the kubelet. */
  listImages(): Promise<string[]>;
  /** Stops the kubelet and starts it again with the same flags; resolves when the Node is Ready again. Pods keep running. */
  restartKubelet(): Promise<void>;
  /**
   * Deletes the node's pods (so the CNI plugin releases their addresses),
   * stops every component, removes the Node object and undoes the host
   * changes: iptables chains, mounts, the bridge, ip_forward, the state dir.
   * Call it before cluster.stop(): pod deletion needs the API server.
   */
  stop(): Promise<void>;
}

export class NodeStartError extends Error {
  readonly code = 'node_start_failed';
}

const TIMEOUT_MS = { containerd: 30_000, images: 180_000, apiserver: 120_000, ready: 120_000, podsGone: 90_000, shims: 10_000 } as const;
/** How often a start waiting for another node's lock looks again. */
const LOCK_POLL_MS = 1_000;
const LOG_TAIL_LINES = 40;
/** A unix socket path longer than sun_path (108 bytes) cannot be bound. */
const MAX_SOCKET_PATH = 100;

interface Layout {
  readonly stateDir: string;
  readonly logDir: string;
  readonly confDir: string;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly containerdConfig: string;
  readonly containerdSocket: string;
  readonly cniConfDir: string;
  readonly cniIpamDir: string;
  readonly kubeletRoot: string;
  readonly podLogsDir: string;
  readonly tokenFile: string;
  readonly nodeKubeconfig: string;
  readonly kubeletConfig: string;
  readonly kubeProxyConfig: string;
  readonly corefile: string;
}

interface Ports {
  readonly kubelet: number;
  readonly kubeletHealthz: number;
  readonly scheduler: number;
  readonly proxyHealthz: number;
  readonly proxyMetrics: number;
  readonly dnsReady: number;
}

/**
 * Starts a node for `cluster` and resolves once the Node is Ready, kube-proxy
 * has synced and CoreDNS answers /ready. Fails with a NodeLockedError when
 * another node runs on this machine, and with a NodeStartError naming the
 * component and the tail of its log otherwise (after undoing what it did).
 * Needs root and the packages nodeSupport() checks.
 */
export async function startNode(cluster: Cluster, options: NodeOptions): Promise<Node> {
  const name = options.name ?? hostname().toLowerCase();
  const ip = primaryIPv4();
  const binaries = {
    apiserver: binaryPath('kube-apiserver'),
    kubelet: binaryPath('kubelet'),
    proxy: binaryPath('kube-proxy'),
    scheduler: binaryPath('kube-scheduler'),
    coredns: binaryPath('coredns'),
  };
  await cleanupStaleNode();
  const layout = prepareLayout(options, cluster);
  // Before touching the host: a NodeLockedError leaves the running node alone.
  let lock: NodeLock;
  const lockDeadline = Date.now() + (options.lockWaitMs ?? 0);
  for (;;) {
    try {
      lock = acquireNodeLock({ stateDir: layout.stateDir, ipForward: readIpForward(), nodeName: name });
      break;
    } catch (err) {
      if (err instanceof NodeLockedError && Date.now() < lockDeadline) {
        await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
        // The holder may have died meanwhile: its leftovers go, and so does its lock.
        await cleanupStaleNode();
        continue;
      }
      if (options.stateDir === undefined) rmSync(layout.stateDir, { recursive: true, force: true });
      throw err;
    }
  }

  let stopping = false;
  const started = new Map<NodeComponent, ManagedProcess>();
  const restarting = new Set<ManagedProcess>();
  let reportExit: (reason: string) => void = () => undefined;
  const exited = new Promise<string>((resolve) => (reportExit = resolve));
  const logFile = (component: NodeComponent): string => join(layout.logDir, `${component}.log`);
  const start = (component: NodeComponent, command: string, args: string[]): ManagedProcess => {
    const child = startProcess({ name: component, command, args, logFile: logFile(component), env: commandEnv() });
    started.set(component, child);
    void exitAsError(child).then((err) => {
      if (!restarting.has(child) && !stopping) reportExit(err.message);
    });
    return child;
  };
  /** Fails a wait as soon as any component started so far exits. */
  const anyExit = (): Promise<Error> => Promise.race([...started.values()].map(exitAsError));

  const kc = cluster.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const ctr = (args: readonly string[], timeoutMs?: number): Promise<string> =>
    runOrThrow('ctr', ['--address', layout.containerdSocket, '--namespace', 'k8s.io', ...args], timeoutMs);
  const importImages = async (archives: readonly string[]): Promise<void> => {
    for (const archive of archives) {
      if (!existsSync(archive)) throw new Error(`image archive ${archive} does not exist`);
      await ctr(['images', 'import', archive], TIMEOUT_MS.images);
    }
  };
  const listImages = async (): Promise<string[]> => (await ctr(['images', 'list', '--quiet'])).split('\n').filter(Boolean);

  let current: NodeComponent = 'containerd';
  try {
    // A crashed run without a lock (or one that used this state dir) may have left mounts and the bridge.
    await cleanHost(layout.stateDir, binaries.proxy, undefined);
    mkdirLayout(layout);
    writeIpForward('1');
    await createBridge();
    const ports = await nodePorts();
    const containerdMajor = await containerdMajorVersion();
    writeFileSync(layout.containerdConfig, containerdConfig(containerdPaths(layout), options.sandboxImage, containerdMajor));
    writeFileSync(join(layout.cniConfDir, '10-tsdapr-pods.conflist'), cniConflist(layout.cniIpamDir));
    const containerd = start('containerd', findCommand('containerd') ?? 'containerd', ['--config', layout.containerdConfig]);
    await pollUntil('containerd to answer on its socket', async () => ((await run('ctr', ['--address', layout.containerdSocket, 'version'])).code === 0 ? true : undefined), {
      timeoutMs: TIMEOUT_MS.containerd,
      abortWhen: exitAsError(containerd),
    });
    await importImages(options.images ?? []);
    const images = await listImages();
    if (!images.includes(options.sandboxImage)) {
      throw new Error(`the sandbox image ${options.sandboxImage} is not among the imported images (${images.join(', ') || 'none'}); pass its archive in options.images`);
    }

    current = 'kube-apiserver-node';
    const setup = cluster.apiserverSetup;
    const nodeToken = randomBytes(24).toString('hex');
    copyFileSync(setup.tokenFile, layout.tokenFile);
    appendFileSync(layout.tokenFile, `${nodeToken},system:node:${name},system:node:${name},"system:nodes"\n`);
    const caPem = readFileSync(setup.servingCertPath, 'utf8');
    const nodeServer = `https://${ip}:${setup.port}`;
    const apiserver = start('kube-apiserver-node', binaries.apiserver, nodeApiserverArgs(cluster, layout, ip));
    await pollUntil('the node-facing kube-apiserver /readyz', async () => expectOk(await probe(`${nodeServer}/readyz`, { ca: caPem, bearerToken: nodeToken, servername: 'kubernetes' })), {
      timeoutMs: TIMEOUT_MS.apiserver,
      abortWhen: exitAsError(apiserver),
    });
    writeFileSync(layout.nodeKubeconfig, nodeKubeconfig(nodeServer, caPem, nodeToken), { mode: 0o600 });

    current = 'kubelet';
    writeFileSync(layout.kubeletConfig, kubeletConfig({ containerdSocket: layout.containerdSocket, podLogsDir: layout.podLogsDir, port: ports.kubelet, healthzPort: ports.kubeletHealthz }));
    const kubeletArgs = [
      `--config=${layout.kubeletConfig}`,
      `--kubeconfig=${layout.nodeKubeconfig}`,
      `--root-dir=${layout.kubeletRoot}`,
      `--cert-dir=${join(layout.kubeletRoot, 'pki')}`,
      `--node-ip=${ip}`,
      `--hostname-override=${name}`,
    ];
    start('kubelet', binaries.kubelet, kubeletArgs);
    current = 'kube-scheduler';
    start('kube-scheduler', binaries.scheduler, [
      `--kubeconfig=${cluster.kubeconfigPath}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--cert-dir=${join(layout.stateDir, 'scheduler-certs')}`,
      '--profiling=false',
    ]);
    current = 'kube-proxy';
    writeFileSync(layout.kubeProxyConfig, kubeProxyConfig({ kubeconfigPath: cluster.kubeconfigPath, nodeName: name, healthzPort: ports.proxyHealthz, metricsPort: ports.proxyMetrics }));
    start('kube-proxy', binaries.proxy, [`--config=${layout.kubeProxyConfig}`]);
    current = 'coredns';
    writeFileSync(layout.corefile, corefile(cluster.kubeconfigPath, ports.dnsReady));
    start('coredns', binaries.coredns, ['-conf', layout.corefile]);

    current = 'kubelet';
    await waitNodeReady(core, name, anyExit());
    current = 'kube-proxy';
    await pollUntil('kube-proxy /healthz', async () => expectOk(await probe(`http://127.0.0.1:${ports.proxyHealthz}/healthz`)), {
      timeoutMs: TIMEOUT_MS.ready,
      abortWhen: anyExit(),
    });
    current = 'coredns';
    await pollUntil('CoreDNS /ready', async () => expectOk(await probe(`http://127.0.0.1:${ports.dnsReady}/ready`)), {
      timeoutMs: TIMEOUT_MS.ready,
      abortWhen: anyExit(),
    });

    const pids = Object.fromEntries([...started].map(([component, child]) => [component, child.pid])) as Record<NodeComponent, number>;
    const restartKubelet = async (): Promise<void> => {
      const old = started.get('kubelet')!;
      restarting.add(old);
      await old.stop();
      const next = start('kubelet', binaries.kubelet, kubeletArgs);
      pids.kubelet = next.pid;
      await pollUntil('the restarted kubelet /healthz', async () => expectOk(await probe(`http://127.0.0.1:${ports.kubeletHealthz}/healthz`)), {
        timeoutMs: TIMEOUT_MS.ready,
        abortWhen: exitAsError(next),
      });
      await waitNodeReady(core, name, exitAsError(next));
    };
    let stopped: Promise<void> | undefined;
    return {
      name,
      ip,
      podCidr: POD_NETWORK.cidr,
      dnsIp: POD_NETWORK.gateway,
      kubeconfigPath: cluster.kubeconfigPath,
      nodeKubeconfigPath: layout.nodeKubeconfig,
      stateDir: layout.stateDir,
      logDir: layout.logDir,
      pids,
      exited,
      importImages,
      async tagImage(from: string, to: string): Promise<void> {
        await ctr(['images', 'tag', '--force', from, to]);
      },
      listImages,
      restartKubelet,
      stop(): Promise<void> {
        stopping = true;
        stopped ??= teardown({ core, name, layout, started, lock, proxyBinary: binaries.proxy, ctr });
        return stopped;
      },
    };
  } catch (err) {
    stopping = true;
    await teardown({ core, name, layout, started, lock, proxyBinary: binaries.proxy, ctr });
    throw new NodeStartError(startFailureMessage(current, err, logFile(current), layout), { cause: err });
  }
}

/**
 * Undoes a crashed run, found by its lock: kills what is left of its
 * processes (the containerd shims and the containers survive a crash) and
 * cleans the host. A no-op when no lock exists or its owner still runs.
 * `pnpm cluster down` calls it after killing a hung supervisor.
 */
export async function cleanupStaleNode(): Promise<void> {
  const lock = readNodeLock();
  if (!lock || lockOwnerAlive(lock)) return;
  killAll(processesMentioning(`${lock.stateDir}/`));
  await removeContainersUnder(lock.stateDir, containerdSocketOf(lock.stateDir));
  let proxyBinary: string | undefined;
  try {
    proxyBinary = binaryPath('kube-proxy');
  } catch {
    proxyBinary = undefined; // cleaned without kube-proxy's own cleanup then
  }
  await cleanHost(lock.stateDir, proxyBinary, lock.ipForward);
  removeStaleNodeLock();
}

function prepareLayout(options: NodeOptions, cluster: Cluster): Layout {
  const stateDir = (options.stateDir ?? mkdtempSync(join(tmpdir(), 'tsdapr-node-'))).replace(/\/$/, '');
  const logDir = options.logDir ?? join(cluster.logDir, 'node');
  const confDir = join(stateDir, 'conf');
  const layout: Layout = {
    stateDir,
    logDir,
    confDir,
    containerdRoot: join(stateDir, 'containerd', 'root'),
    containerdState: join(stateDir, 'containerd', 'state'),
    containerdConfig: join(confDir, 'containerd.toml'),
    containerdSocket: containerdSocketOf(stateDir),
    cniConfDir: join(stateDir, 'cni', 'net.d'),
    cniIpamDir: join(stateDir, 'cni', 'ipam'),
    kubeletRoot: join(stateDir, 'kubelet'),
    podLogsDir: join(stateDir, 'pod-logs'),
    tokenFile: join(confDir, 'tokens.csv'),
    nodeKubeconfig: join(confDir, 'node.kubeconfig'),
    kubeletConfig: join(confDir, 'kubelet.yaml'),
    kubeProxyConfig: join(confDir, 'kube-proxy.yaml'),
    corefile: join(confDir, 'Corefile'),
  };
  if (`${layout.containerdSocket}.ttrpc`.length > MAX_SOCKET_PATH) {
    throw new NodeStartError(`state dir ${stateDir} is too long for containerd's unix socket path (${layout.containerdSocket}.ttrpc); pass a shorter stateDir`);
  }
  return layout;
}

/** Short, so the socket path fits sun_path even under a long state dir. */
function containerdSocketOf(stateDir: string): string {
  return join(stateDir, 'containerd.sock');
}

function mkdirLayout(layout: Layout): void {
  // An earlier run's state (images, pods, IPAM reservations) would come back.
  rmSync(layout.stateDir, { recursive: true, force: true });
  for (const dir of [layout.stateDir, layout.logDir, layout.confDir, layout.containerdRoot, layout.containerdState, layout.cniConfDir, layout.cniIpamDir, layout.kubeletRoot, layout.podLogsDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}

function containerdPaths(layout: Layout): { root: string; state: string; socket: string; cniConfDir: string } {
  return { root: layout.containerdRoot, state: layout.containerdState, socket: layout.containerdSocket, cniConfDir: layout.cniConfDir };
}

async function nodePorts(): Promise<Ports> {
  const [kubelet, kubeletHealthz, scheduler, proxyHealthz, proxyMetrics, dnsReady] = (await freePorts(6)) as [number, number, number, number, number, number];
  return { kubelet, kubeletHealthz, scheduler, proxyHealthz, proxyMetrics, dnsReady };
}

/** `containerd github.com/containerd/containerd 1.6.20~ds1 ...` → 1. */
async function containerdMajorVersion(): Promise<number> {
  const out = await runOrThrow('containerd', ['--version']);
  const version = /\s v?(\d+)\.\d+/.exec(out);
  return version ? Number(version[1]) : 1;
}

/**
 * The cluster apiserver's flags, but on the node IP (the same port and
 * serving certificate, so every client trusts it), with the node's token
 * file, NodeRestriction, and the lease reconciler that publishes the node IP
 * as the `kubernetes` Service's endpoint.
 */
function nodeApiserverArgs(cluster: Cluster, layout: Layout, ip: string): string[] {
  const setup = cluster.apiserverSetup;
  return [
    `--etcd-servers=${setup.etcdUrl}`,
    `--bind-address=${ip}`,
    `--advertise-address=${ip}`,
    `--secure-port=${setup.port}`,
    `--tls-cert-file=${setup.servingCertPath}`,
    `--tls-private-key-file=${setup.servingKeyPath}`,
    `--cert-dir=${join(layout.stateDir, 'apiserver-certs')}`,
    `--token-auth-file=${layout.tokenFile}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
    `--service-account-issuer=${setup.serviceAccountIssuer}`,
    `--service-account-key-file=${setup.serviceAccountPubPath}`,
    `--service-account-signing-key-file=${setup.serviceAccountKeyPath}`,
    `--service-cluster-ip-range=${setup.serviceClusterIpRange}`,
    '--allow-privileged=true',
    '--endpoint-reconciler-type=lease',
    '--kubelet-preferred-address-types=InternalIP,Hostname',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
  ];
}


async function waitNodeReady(core: CoreV1Api, name: string, abortWhen: Promise<Error>): Promise<V1Node> {
  return pollUntil(
    `Node ${name} to be Ready`,
    async () => {
      const node = await core.readNode({ name });
      const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
      if (ready?.status === 'True') return node;
      throw new Error(`Ready=${ready?.status ?? 'unknown'}${ready?.message ? `: ${ready.message}` : ''}`);
    },
    { timeoutMs: TIMEOUT_MS.ready, intervalMs: 300, abortWhen },
  );
}

interface TeardownParts {
  readonly core: CoreV1Api;
  readonly name: string;
  readonly layout: Layout;
  readonly started: ReadonlyMap<NodeComponent, ManagedProcess>;
  readonly lock: NodeLock;
  readonly proxyBinary: string;
  readonly ctr: (args: readonly string[], timeoutMs?: number) => Promise<string>;
}

/**
 * The order matters: the scheduler first (nothing new lands), then the pods
 * while the kubelet still runs (it stops their sandboxes, which runs CNI DEL
 * and frees their veths and addresses), then the processes, then the host.
 */
async function teardown({ core, name, layout, started, lock, proxyBinary, ctr }: TeardownParts): Promise<void> {
  const stopComponent = async (component: NodeComponent): Promise<void> => {
    await started.get(component)?.stop();
  };
  await stopComponent('kube-scheduler');
  const kubelet = started.get('kubelet');
  if (kubelet && !kubelet.hasExited() && started.get('containerd')?.hasExited() === false) {
    await deletePodsOf(core, name, ctr).catch((err: unknown) => {
      appendFileSync(join(layout.logDir, 'stop.log'), `deleting the pods of ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  }
  for (const component of ['coredns', 'kube-proxy', 'kubelet'] as const) await stopComponent(component);
  // The cluster would otherwise list a NotReady node for good.
  if (started.has('kubelet')) await core.deleteNode({ name }).catch(() => undefined);
  await stopComponent('kube-apiserver-node');
  await stopComponent('containerd');
  // Shims of tasks that outlived the pod deletion: runc removes their containers, then they exit.
  await removeContainersUnder(layout.stateDir, layout.containerdSocket);
  await pollUntil('the containerd shims to exit', () => Promise.resolve(processesMentioning(`${layout.stateDir}/`).length === 0 ? true : undefined), {
    timeoutMs: TIMEOUT_MS.shims,
    intervalMs: 200,
  }).catch(() => killAll(processesMentioning(`${layout.stateDir}/`)));
  await cleanHost(layout.stateDir, proxyBinary, lock.ipForward);
  releaseNodeLock(lock);
}

/** Deletes every pod bound to the node and waits until containerd runs no task (every sandbox stopped). */
async function deletePodsOf(core: CoreV1Api, name: string, ctr: TeardownParts['ctr']): Promise<void> {
  const pods = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` });
  for (const pod of pods.items) {
    const { name: podName, namespace } = pod.metadata ?? {};
    if (podName && namespace) await core.deleteNamespacedPod({ name: podName, namespace, gracePeriodSeconds: 1 }).catch(() => undefined);
  }
  await pollUntil(
    'the node\'s containers to stop',
    async () => {
      const tasks = (await ctr(['tasks', 'list', '--quiet'])).split('\n').filter(Boolean);
      if (tasks.length === 0) return true;
      throw new Error(`${tasks.length} task(s) still running`);
    },
    { timeoutMs: TIMEOUT_MS.podsGone, intervalMs: 300 },
  );
}

/**
 * The host half of a teardown, safe to repeat and to run on a clean host:
 * kube-proxy's rules, the kubelet's chains, mounts under the state dir, the
 * bridge, ip_forward (when known), the QoS cgroups and the state dir itself.
 */
async function cleanHost(stateDir: string, proxyBinary: string | undefined, ipForward: string | undefined): Promise<void> {
  await deleteCachedPodNetworks();
  if (proxyBinary) await run(proxyBinary, ['--cleanup']);
  await removeKubeletChains();
  await unmountUnder(stateDir);
  if (bridgeExists()) await deleteBridge();
  if (ipForward !== undefined) writeIpForward(ipForward);
  removeKubepodsCgroups();
  removeHostLeftovers(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
}



function startFailureMessage(component: NodeComponent, err: unknown, log: string, layout: Layout): string {
  const reason = err instanceof Error ? err.message : String(err);
  return [`node did not start: ${component}: ${reason}`, `logs: ${layout.logDir}`, `--- last lines of ${log} ---`, logTail(log, LOG_TAIL_LINES)].join('\n');
}

