/**
 * The host-global state a node changes, and how to put it back: the pod
 * bridge, net.ipv4.ip_forward, the iptables chains the kubelet and kube-proxy
 * add, mounts under the node's state dir, leftover containers and the QoS
 * cgroups. Every undo here is idempotent and tolerant: it runs on a clean
 * stop, on `pnpm cluster down` after a crash and before a start over a
 * crashed run's leftovers.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { CNI_BIN_DIR, findCommand } from './node-support.js';

/** The pod network. One node per machine, so these are fixed (see the lock in node.ts). */
export const POD_NETWORK = {
  /** The CNI network's name (in the conflist, and in libcni's cache file names). */
  name: 'tsdapr-pods',
  bridge: 'tsdapr0',
  cidr: '10.88.77.0/24',
  /** The bridge's address: the pods' default gateway, and where CoreDNS listens. */
  gateway: '10.88.77.1',
  prefixLength: 24,
} as const;

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** Chains the kubelet creates and never removes (`kube-proxy --cleanup` leaves them too). */
const KUBELET_CHAINS = ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT'] as const;

/** containerd 1.6 keeps runc's state here whatever its own `state` dir is. */
const RUNC_ROOT = '/run/containerd/runc/k8s.io';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a host command (found on PATH or in the sbin dirs); never rejects. */
export function run(command: string, args: readonly string[], timeoutMs = 60_000): Promise<CommandResult> {
  const path = findCommand(command) ?? command;
  return new Promise((resolve) => {
    execFile(path, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: commandEnv() }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stderr ? err.message : '') });
    });
  });
}

/** Like run, but rejects with the command and its stderr when it fails. */
export async function runOrThrow(command: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await run(command, args, timeoutMs);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** The node's children look up iptables, runc, mount... in the sbin dirs too, where a non-login PATH may lack them. */
export function commandEnv(): Record<string, string> {
  const path = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].filter(Boolean).join(':');
  return { ...(process.env as Record<string, string>), PATH: path };
}

/**
 * The IPv4 address of the interface the default route goes through: the
 * node's InternalIP and where the node-facing kube-apiserver listens. A pod
 * reaches it through the bridge (127.0.0.1 is dropped by KUBE-FIREWALL).
 */
export function primaryIPv4(): string {
  const device = defaultRouteDevice();
  const candidates = device ? [device] : Object.keys(networkInterfaces());
  for (const name of candidates) {
    const address = networkInterfaces()[name]?.find((entry) => entry.family === 'IPv4' && !entry.internal);
    if (address) return address.address;
  }
  throw new Error(`no IPv4 address on ${device ?? 'any interface'}: a node needs a non-loopback address for its pods to reach the API server`);
}

/** /proc/net/route: the interface whose destination is 00000000 with mask 00000000. */
function defaultRouteDevice(): string | undefined {
  if (!existsSync('/proc/net/route')) return undefined;
  for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && destination === '00000000' && mask === '00000000') return iface;
  }
  return undefined;
}

export function readIpForward(): string {
  return readFileSync(IP_FORWARD, 'utf8').trim();
}

export function writeIpForward(value: string): void {
  writeFileSync(IP_FORWARD, `${value}\n`);
}

/**
 * The bridge exists before the first pod so CoreDNS can bind the gateway
 * address; the CNI bridge plugin adopts it.
 */
export async function createBridge(): Promise<void> {
  const { bridge, gateway, prefixLength } = POD_NETWORK;
  await runOrThrow('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await runOrThrow('ip', ['addr', 'add', `${gateway}/${prefixLength}`, 'dev', bridge]);
  await runOrThrow('ip', ['link', 'set', bridge, 'up']);
}

export function bridgeExists(): boolean {
  return existsSync(`/sys/class/net/${POD_NETWORK.bridge}`);
}

export async function deleteBridge(): Promise<void> {
  if (bridgeExists()) await runOrThrow('ip', ['link', 'del', POD_NETWORK.bridge]);
}

/** Removes the kubelet's chains (and their INPUT/OUTPUT jumps) from iptables and ip6tables. */
export async function removeKubeletChains(): Promise<void> {
  for (const iptables of ['iptables', 'ip6tables']) {
    if (!findCommand(iptables)) continue;
    // -D removes one jump per call; a crashed run's restart could have added two.
    for (const hook of ['INPUT', 'OUTPUT']) {
      let removed = true;
      while (removed) removed = (await run(iptables, ['-w', '-t', 'filter', '-D', hook, '-j', 'KUBE-FIREWALL'])).code === 0;
    }
    for (const table of ['nat', 'filter', 'mangle']) {
      for (const chain of KUBELET_CHAINS) {
        if ((await run(iptables, ['-w', '-t', table, '-F', chain])).code === 0) await run(iptables, ['-w', '-t', table, '-X', chain]);
      }
    }
  }
}

/** Whether a chain the kubelet or kube-proxy made still exists, for tests and diagnostics. */
export async function leftoverChains(): Promise<string[]> {
  const found: string[] = [];
  for (const iptables of ['iptables', 'ip6tables']) {
    if (!findCommand(iptables)) continue;
    for (const table of ['nat', 'filter', 'mangle']) {
      const { stdout } = await run(iptables, ['-w', '-t', table, '-S']);
      for (const line of stdout.split('\n')) {
        const chain = /^-N (KUBE-\S+)/.exec(line)?.[1];
        if (chain) found.push(`${iptables} ${table} ${chain}`);
      }
    }
  }
  return found;
}

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.replace(/\/$/, '');
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[1] ?? ''))
    .filter((mountPoint) => mountPoint === prefix || mountPoint.startsWith(`${prefix}/`))
    .sort((a, b) => b.length - a.length);
}

/** /proc/self/mounts writes a space as \040 and so on. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * Lazy unmounts of everything under `dir`: the kubelet bind-mounts its root
 * dir onto itself, and pods leave volume and overlay mounts behind a crash.
 */
export async function unmountUnder(dir: string): Promise<void> {
  for (const mountPoint of mountsUnder(dir)) await run('umount', ['-l', mountPoint]);
}

/**
 * After a crash the shims (which containerd daemonizes, so no parent-death
 * signal reaches them) keep the pods' containers running. runc's own list
 * names each container's bundle, which lies under the node's state dir.
 */
export async function removeContainersUnder(stateDir: string, containerdSocket: string): Promise<void> {
  if (!existsSync(RUNC_ROOT) || !findCommand('runc')) return;
  const { stdout, code } = await run('runc', ['--root', RUNC_ROOT, 'list', '--format', 'json']);
  if (code !== 0) return;
  const containers = (JSON.parse(stdout.trim() || 'null') as Array<{ id: string; bundle: string }> | null) ?? [];
  for (const container of containers) {
    if (!container.bundle.startsWith(`${stateDir}/`)) continue;
    await run('runc', ['--root', RUNC_ROOT, 'delete', '--force', container.id]);
    // A shim killed by a crash leaves its socket; containerd 1.6 names it sha256(<address>/<namespace>/<id>).
    rmSync(join(SHIM_SOCKET_DIR, createHash('sha256').update(`${containerdSocket}/k8s.io/${container.id}`).digest('hex')), { force: true });
  }
}

const SHIM_SOCKET_DIR = '/run/containerd/s';

/** Pids of processes whose command line mentions `needle` (never this process). */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(needle)) pids.push(pid);
    } catch {
      continue; // exited while we looked
    }
  }
  return pids;
}

export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      continue; // already gone
    }
  }
}

/**
 * The kubelet's QoS cgroups (`kubepods`, `kubepods/burstable`, ...) in every
 * v1 hierarchy, or the v2 tree. rmdir only succeeds on empty cgroups, so a
 * cgroup someone still uses stays.
 */
export function removeKubepodsCgroups(): void {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return;
  const tops = existsSync(join(root, 'cgroup.controllers')) ? [root] : readdirSync(root).map((name) => join(root, name));
  for (const top of tops) {
    for (const name of ['kubepods', 'kubepods.slice']) removeCgroupTree(join(top, name));
  }
}

function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  let children: string[];
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
  } catch {
    return; // not a directory we can read: leave it
  }
  for (const child of children) removeCgroupTree(child);
  try {
    rmdirSync(dir);
  } catch {
    return; // still has processes: not ours to force
  }
}

/** The kubelet's `/var/log/containers/*.log` links to pod logs; it removes them only on container GC. */
const CONTAINER_LOG_LINKS = '/var/log/containers';

/**
 * Host dirs that containerd, the CNI plugins and the kubelet create outside
 * the state dir, deepest first. Removed only when empty, so a system
 * containerd's (which would hold its socket there) stays.
 */
const SHARED_DIRS = ['/run/containerd/runc/k8s.io', '/run/containerd/runc', '/run/containerd/s', '/run/containerd/fifo', '/run/containerd', '/var/lib/cni/results', '/var/lib/cni', '/run/netns', CONTAINER_LOG_LINKS];

/** Removes the log links into `stateDir`, then whichever SHARED_DIRS are empty. */
export function removeHostLeftovers(stateDir: string): void {
  if (existsSync(CONTAINER_LOG_LINKS)) {
    for (const entry of readdirSync(CONTAINER_LOG_LINKS)) {
      const link = join(CONTAINER_LOG_LINKS, entry);
      try {
        if (readlinkSync(link).startsWith(`${stateDir}/`)) rmSync(link, { force: true });
      } catch {
        continue; // not a link: not the kubelet's
      }
    }
  }
  for (const dir of SHARED_DIRS) {
    try {
      rmdirSync(dir);
    } catch {
      continue; // absent, or not empty: someone else's
    }
  }
}

/** libcni's cache of what each ADD did: the config, the args and the result, so a DEL can undo it. */
const CNI_CACHE_DIR = '/var/lib/cni/results';

interface CniCacheEntry {
  readonly containerId: string;
  /** The conflist, base64. */
  readonly config: string;
  readonly ifName: string;
  readonly networkName: string;
  readonly cniArgs?: ReadonlyArray<readonly [string, string]>;
  readonly result?: { readonly interfaces?: ReadonlyArray<{ readonly sandbox?: string }> };
}

/**
 * CNI DEL for every pod of the node's network that is still in libcni's
 * cache. After a clean stop there is none (the kubelet ran DEL for each
 * sandbox); after a crash this undoes the bridge plugin's masquerade rules
 * and chains, then the pods' network namespaces (and with them the veths)
 * are unmounted and removed.
 */
export async function deleteCachedPodNetworks(): Promise<void> {
  if (!existsSync(CNI_CACHE_DIR)) return;
  const ours = readdirSync(CNI_CACHE_DIR).filter((file) => file.startsWith(`${POD_NETWORK.name}-`));
  for (const file of ours) {
    const entry = JSON.parse(readFileSync(join(CNI_CACHE_DIR, file), 'utf8')) as CniCacheEntry;
    const netns = entry.result?.interfaces?.map((iface) => iface.sandbox).find((sandbox) => sandbox);
    cniDel(entry, netns);
    if (netns && existsSync(netns)) {
      await run('umount', [netns]);
      rmSync(netns, { force: true });
    }
    // The loopback network's entry for the same sandbox goes too.
    for (const other of readdirSync(CNI_CACHE_DIR)) if (other.includes(`-${entry.containerId}-`)) rmSync(join(CNI_CACHE_DIR, other), { force: true });
  }
}

/** Runs the conflist's plugins in reverse with CNI_COMMAND=DEL, as libcni would; a plugin's failure is not fatal. */
function cniDel(entry: CniCacheEntry, netns: string | undefined): void {
  const conflist = JSON.parse(Buffer.from(entry.config, 'base64').toString('utf8')) as { name: string; cniVersion: string; plugins: Array<{ type: string }> };
  const env = {
    ...commandEnv(),
    CNI_COMMAND: 'DEL',
    CNI_CONTAINERID: entry.containerId,
    CNI_NETNS: netns && existsSync(netns) ? netns : '',
    CNI_IFNAME: entry.ifName,
    CNI_PATH: CNI_BIN_DIR,
    CNI_ARGS: (entry.cniArgs ?? []).map(([key, value]) => `${key}=${value}`).join(';'),
  };
  for (const plugin of [...conflist.plugins].reverse()) {
    const input = JSON.stringify({ ...plugin, name: conflist.name, cniVersion: conflist.cniVersion, prevResult: entry.result });
    spawnSync(join(CNI_BIN_DIR, plugin.type), [], { input, env, timeout: 30_000 });
  }
}
