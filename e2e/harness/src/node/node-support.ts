/**
 * Whether this machine can run a real node (node.ts): root, cgroups, the
 * overlay filesystem, the Go binaries from the build cache and the Debian
 * packages `bash scripts/dev.sh setup` installs.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaryPath, type BinaryName } from '../binaries.js';

export type NodeSupport = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Where Debian's containernetworking-plugins puts the CNI plugins. */
export const CNI_BIN_DIR = '/usr/lib/cni';

const NODE_BINARIES: readonly BinaryName[] = ['kube-apiserver', 'kubelet', 'kube-proxy', 'kube-scheduler', 'coredns'];
/** Each host command with the Debian package that brings it. */
const HOST_COMMANDS: ReadonlyArray<readonly [command: string, pkg: string]> = [
  ['containerd', 'containerd'],
  ['containerd-shim-runc-v2', 'containerd'],
  ['ctr', 'containerd'],
  ['runc', 'runc'],
  ['iptables', 'iptables'],
  ['ip6tables', 'iptables'],
  ['conntrack', 'conntrack'],
  ['ip', 'iproute2'],
  ['umount', 'mount'],
];
const CNI_PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'] as const;
const SETUP_HINT = 'run bash scripts/dev.sh setup';

/**
 * `{ ok: true }` when startNode can work here; otherwise the first reason it
 * cannot, as one line (for a skip message or `pnpm cluster up`).
 */
export function nodeSupport(): NodeSupport {
  if (process.platform !== 'linux') return no(`a node needs Linux (this is ${process.platform})`);
  const uid = process.getuid?.();
  if (uid !== 0) return no(`a node needs root for containerd, iptables and the pod bridge (uid ${uid ?? 'unknown'})`);
  if (!hasCgroups()) return no('no cgroups mounted at /sys/fs/cgroup (neither v2 nor a v1 memory hierarchy)');
  if (!readFileSync('/proc/filesystems', 'utf8').includes('\toverlay')) return no('the kernel has no overlay filesystem (containerd\'s snapshotter needs it)');
  for (const [command, pkg] of HOST_COMMANDS) {
    if (!findCommand(command)) return no(`${command} is not installed (Debian package ${pkg}; ${SETUP_HINT})`);
  }
  for (const plugin of CNI_PLUGINS) {
    if (!isExecutable(join(CNI_BIN_DIR, plugin))) return no(`CNI plugin ${CNI_BIN_DIR}/${plugin} is missing (Debian package containernetworking-plugins; ${SETUP_HINT})`);
  }
  for (const name of NODE_BINARIES) {
    try {
      binaryPath(name);
    } catch (err) {
      return no(err instanceof Error ? err.message : String(err));
    }
  }
  return { ok: true };
}

function no(reason: string): NodeSupport {
  return { ok: false, reason };
}

function hasCgroups(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') || existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');
}

const SEARCH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The absolute path of a host command, on PATH or in the sbin dirs a non-login PATH may lack. */
export function findCommand(command: string): string | undefined {
  if (command.startsWith('/')) return isExecutable(command) ? command : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_DIRS];
  return dirs.map((dir) => join(dir, command)).find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false; // absent or not executable: both mean "not installed" here
  }
}
