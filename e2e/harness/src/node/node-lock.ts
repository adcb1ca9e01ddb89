/**
 * One node per machine: the pod bridge, the iptables chains and the
 * kubelet's cgroups are host-global. The lock is a file in a fixed place
 * naming the process that owns the node (pid plus its start time, against
 * pid reuse), its state dir and the ip_forward value to restore. A lock whose
 * owner is gone marks a crashed run whose leftovers must be cleaned first.
 */
import { mkdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** /run is a tmpfs: a reboot, which also clears the bridge and the chains, clears the lock. */
export const NODE_LOCK_PATH = '/run/tsdapr/node.lock';

export interface NodeLock {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from the owner. */
  readonly startTime: string;
  readonly stateDir: string;
  /** net.ipv4.ip_forward before the node set it to 1. */
  readonly ipForward: string;
  readonly nodeName: string;
}

export class NodeLockedError extends Error {
  readonly code = 'node_locked';
}

export function readNodeLock(path = NODE_LOCK_PATH): NodeLock | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as NodeLock;
  } catch {
    return undefined; // absent, or torn by a crash mid-write: either way nobody holds it
  }
}

/** Whether the process that wrote the lock still runs. */
export function lockOwnerAlive(lock: NodeLock): boolean {
  return processStartTime(lock.pid) === lock.startTime;
}

/**
 * Takes the lock for this process, or throws a NodeLockedError naming the
 * owner. A stale lock must have been cleaned up (and removed) by the caller.
 */
export function acquireNodeLock(fields: Omit<NodeLock, 'pid' | 'startTime'>, path = NODE_LOCK_PATH): NodeLock {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const lock: NodeLock = { pid: process.pid, startTime: processStartTime(process.pid) ?? '', ...fields };
  try {
    // wx: of two starts at once, exactly one creates the file.
    writeFileSync(path, `${JSON.stringify(lock)}\n`, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = readNodeLock(path);
    throw new NodeLockedError(
      `another node runs on this machine (${path}: pid ${holder?.pid ?? '?'}, node ${holder?.nodeName ?? '?'}, state ${holder?.stateDir ?? '?'}); ` +
        'only one can, since the pod bridge, the kubelet\'s iptables chains and cgroups are host-global: stop it first (pnpm cluster down)',
    );
  }
  return lock;
}

/** Removes the lock if it is this one (never another run's). */
export function releaseNodeLock(lock: NodeLock, path = NODE_LOCK_PATH): void {
  const current = readNodeLock(path);
  if (current && current.pid === lock.pid && current.startTime === lock.startTime) rmSync(path, { force: true });
  removeLockDirIfEmpty(path);
}

function removeLockDirIfEmpty(path: string): void {
  try {
    rmdirSync(dirname(path));
  } catch {
    return; // not empty or already gone
  }
}

export function removeStaleNodeLock(path = NODE_LOCK_PATH): void {
  rmSync(path, { force: true });
  removeLockDirIfEmpty(path);
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); a zombie counts as gone.
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  } catch {
    return undefined; // no such process
  }
}
