#!/usr/bin/env node
/**
 * `pnpm cluster up|down|status`: a local kube-apiserver + etcd +
 * kube-controller-manager that outlives the command, plus a real node
 * (node/node.ts: containerd, kubelet, kube-proxy, kube-scheduler, CoreDNS)
 * where the machine can run one (nodeSupport()). `up` starts a detached
 * supervisor process that owns the components; `down` asks it to stop them.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { repoRoot } from './binaries.js';
import { startCluster, type Cluster, type ComponentName } from './cluster.js';
import { probe } from './http-probe.js';
import { buildImages } from './images.js';
import { logTail } from './managed-process.js';
import { cleanupStaleNode, startNode, type Node, type NodeComponent } from './node/node.js';
import { nodeSupport } from './node/node-support.js';

interface StateFiles {
  readonly dir: string;
  readonly pidFile: string;
  readonly stateFile: string;
  readonly failedFile: string;
  readonly supervisorLog: string;
  readonly dataDir: string;
  readonly logDir: string;
  readonly nodeStateDir: string;
}

interface NodeState {
  readonly name: string;
  readonly ip: string;
  readonly images: readonly string[];
  readonly pids: Record<NodeComponent, number>;
  readonly startupMs: number;
}

interface ClusterState {
  readonly supervisorPid: number;
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly pids: Record<ComponentName, number>;
  readonly startupMs: number;
  /** Absent when the machine cannot run a node; `nodeSkipped` says why. */
  readonly node?: NodeState;
  readonly nodeSkipped?: string;
}

/** The images `up` imports into the node: the sandbox and the two bases the tests' pods use. */
const NODE_IMAGES = ['pause', 'busybox', 'node-base'] as const;

const UP_TIMEOUT_MS = 600_000;
/** The node's stop deletes its pods and waits for their sandboxes (up to 90 s) before the cluster stops. */
const DOWN_TIMEOUT_MS = 150_000;
const USAGE = `usage: pnpm cluster <up|down|status>
  up      start etcd, kube-apiserver and kube-controller-manager in the background,
          and a node (containerd, kubelet, kube-proxy, kube-scheduler, CoreDNS) when the machine can run one
  down    stop them, undo the node's host changes and remove the cluster's data (logs are kept)
  status  say whether the cluster runs and answers /readyz, and whether the node is Ready
state dir: $TSDAPR_STATE_DIR or <repo>/.tsdapr/cluster`;

async function main(argv: readonly string[]): Promise<number> {
  const files = stateFiles(process.env.TSDAPR_STATE_DIR ?? join(repoRoot(), '.tsdapr', 'cluster'));
  switch (argv[0]) {
    case 'up':
      return up(files);
    case 'down':
      return down(files);
    case 'status':
      return status(files);
    case 'supervise':
      return supervise(files);
    case undefined:
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

function stateFiles(dir: string): StateFiles {
  return {
    dir,
    pidFile: join(dir, 'supervisor.pid'),
    stateFile: join(dir, 'state.json'),
    failedFile: join(dir, 'failed.txt'),
    supervisorLog: join(dir, 'supervisor.log'),
    dataDir: join(dir, 'data'),
    logDir: join(dir, 'logs'),
    nodeStateDir: join(dir, 'node'),
  };
}

async function up(files: StateFiles): Promise<number> {
  const existing = readPid(files.pidFile);
  if (existing !== undefined && isAlive(existing)) {
    const state = readState(files);
    console.log(`cluster already running (supervisor pid ${existing})`);
    if (state) printAccess(state);
    return 0;
  }
  mkdirSync(files.dir, { recursive: true });
  for (const file of [files.stateFile, files.failedFile, files.pidFile]) rmSync(file, { force: true });

  const logFd = openSync(files.supervisorLog, 'w');
  const supervisor = spawn(process.execPath, [fileURLToPath(import.meta.url), 'supervise'], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, TSDAPR_STATE_DIR: files.dir },
  });
  closeSync(logFd);
  if (supervisor.pid === undefined) throw new Error('cannot start the cluster supervisor process');
  supervisor.unref();
  writeFileSync(files.pidFile, `${supervisor.pid}\n`);
  console.log(`starting cluster (supervisor pid ${supervisor.pid}, logs in ${files.logDir}) ...`);

  const deadline = Date.now() + UP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const state = readState(files);
    if (state) {
      console.log(`cluster up in ${(state.startupMs / 1000).toFixed(1)}s`);
      printAccess(state);
      return 0;
    }
    if (existsSync(files.failedFile) || !isAlive(supervisor.pid)) {
      console.error(existsSync(files.failedFile) ? readFileSync(files.failedFile, 'utf8') : logTail(files.supervisorLog, 40));
      rmSync(files.pidFile, { force: true });
      await cleanupStaleNode();
      return 1;
    }
    await sleep(250);
  }
  console.error(`cluster did not come up within ${UP_TIMEOUT_MS / 1000}s; see ${files.supervisorLog} and ${files.logDir}`);
  await stopSupervisor(files, supervisor.pid);
  await cleanupStaleNode();
  return 1;
}

function printAccess(state: ClusterState): void {
  console.log(nodeLine(state));
  console.log(`kubeconfig: ${state.kubeconfigPath}`);
  console.log(`server:     ${state.server}`);
  console.log(`try:        kubectl --kubeconfig ${state.kubeconfigPath} get ns`);
  console.log(`tests:      TSDAPR_TEST_KUBECONFIG=${state.kubeconfigPath} node --test <file>.integration.test.js`);
  console.log('stop:       pnpm cluster down');
}

function nodeLine(state: ClusterState): string {
  if (!state.node) return `node:       none, pods stay Pending (${state.nodeSkipped ?? 'not started'})`;
  const { name, ip, images, startupMs } = state.node;
  return `node:       ${name} (${ip}) Ready in ${(startupMs / 1000).toFixed(1)}s; images (imagePullPolicy: Never): ${images.join(', ')}`;
}

async function down(files: StateFiles): Promise<number> {
  const pid = readPid(files.pidFile);
  const state = readState(files);
  if (pid !== undefined && isAlive(pid)) {
    await stopSupervisor(files, pid);
    console.log(`cluster stopped (supervisor pid ${pid})`);
  } else {
    console.log('cluster not running');
  }
  // A supervisor killed hard takes its children with it (parent-death signal);
  // this sweep covers the rest, checking the command line against pid reuse.
  for (const [name, childPid] of Object.entries({ ...state?.pids, ...state?.node?.pids })) {
    if (isAlive(childPid) && commandLineOf(childPid).includes(name.replace(/-node$/, ''))) {
      process.kill(childPid, 'SIGKILL');
      console.log(`killed leftover ${name} (pid ${childPid})`);
    }
  }
  // A supervisor that died without stopping its node left the host changed (bridge, iptables, containers).
  await cleanupStaleNode();
  for (const path of [files.stateFile, files.failedFile, files.pidFile, files.dataDir, files.nodeStateDir]) rmSync(path, { recursive: true, force: true });
  return 0;
}

async function stopSupervisor(files: StateFiles, pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + DOWN_TIMEOUT_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) {
    console.error(`supervisor ${pid} did not stop within ${DOWN_TIMEOUT_MS / 1000}s; killing it (see ${files.supervisorLog})`);
    process.kill(pid, 'SIGKILL');
  }
}

async function status(files: StateFiles): Promise<number> {
  const pid = readPid(files.pidFile);
  const state = readState(files);
  if (pid === undefined || !isAlive(pid)) {
    console.log('cluster not running');
    return 1;
  }
  if (!state) {
    console.log(`cluster starting (supervisor pid ${pid}); logs in ${files.logDir}`);
    return 1;
  }
  const ready = await readyz(state.kubeconfigPath);
  const components = Object.entries(state.pids)
    .map(([name, childPid]) => `${name} ${childPid} ${isAlive(childPid) ? 'running' : 'GONE'}`)
    .join(', ');
  console.log(`cluster running (supervisor pid ${pid}): ${components}`);
  console.log(`readyz: ${ready}`);
  let nodeOk = true;
  if (state.node) {
    const nodeComponents = Object.entries(state.node.pids)
      .map(([name, childPid]) => `${name} ${childPid} ${isAlive(childPid) ? 'running' : 'GONE'}`)
      .join(', ');
    const nodeReady = await nodeReadiness(state.kubeconfigPath, state.node.name);
    nodeOk = nodeReady === 'Ready';
    console.log(`node ${state.node.name}: ${nodeReady}: ${nodeComponents}`);
  }
  printAccess(state);
  return ready === 'ok' && nodeOk ? 0 : 1;
}

async function nodeReadiness(kubeconfigPath: string, name: string): Promise<string> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  try {
    const node = await kc.makeApiClient(CoreV1Api).readNode({ name });
    const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
    return ready?.status === 'True' ? 'Ready' : `NotReady (${ready?.message ?? 'no Ready condition'})`;
  } catch (err) {
    return `unknown (${err instanceof Error ? err.message : String(err)})`;
  }
}

async function readyz(kubeconfigPath: string): Promise<string> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  const token = kc.getCurrentUser()?.token;
  if (!cluster?.caData || !token) return 'kubeconfig lacks CA data or token';
  try {
    const response = await probe(`${cluster.server}/readyz`, { ca: Buffer.from(cluster.caData, 'base64'), bearerToken: token });
    return response.status === 200 ? 'ok' : `HTTP ${response.status}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The detached process that owns the components until SIGTERM. */
async function supervise(files: StateFiles): Promise<number> {
  let cluster: Cluster | undefined;
  let node: Node | undefined;
  let ready = false;
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    // The node first: deleting its pods needs the API server.
    await node?.stop();
    await cluster?.stop();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    console.log(`supervisor: ${signal}, stopping the cluster`);
    stopping = true;
    // During startup there is nothing to drain; exiting reaps the children,
    // and the caller's cleanupStaleNode() undoes a half-started node's host changes.
    if (!ready) process.exit(0);
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const startedAt = Date.now();
  try {
    cluster = await startCluster({ dataDir: files.dataDir, logDir: files.logDir });
  } catch (err) {
    writeFileSync(files.failedFile, `${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const clusterStartupMs = Date.now() - startedAt;
  let nodeState: NodeState | undefined;
  const support = nodeSupport();
  if (support.ok) {
    try {
      const nodeStartedAt = Date.now();
      const images = await buildImages(NODE_IMAGES);
      const pause = images.find((image) => image.name === 'pause');
      if (!pause) throw new Error('buildImages returned no pause image');
      node = await startNode(cluster, { sandboxImage: pause.ref, images: images.map((image) => image.archive), stateDir: files.nodeStateDir });
      nodeState = { name: node.name, ip: node.ip, images: images.map((image) => image.ref), pids: node.pids, startupMs: Date.now() - nodeStartedAt };
      console.log(`supervisor: node ${node.name} Ready`);
    } catch (err) {
      writeFileSync(files.failedFile, `${err instanceof Error ? err.message : String(err)}\n`);
      await cluster.stop();
      return 1;
    }
  }
  const state: ClusterState = {
    supervisorPid: process.pid,
    kubeconfigPath: cluster.kubeconfigPath,
    server: cluster.server,
    pids: cluster.pids,
    startupMs: clusterStartupMs,
    ...(nodeState ? { node: nodeState } : { nodeSkipped: support.ok ? undefined : support.reason }),
  };
  ready = true;
  writeFileSync(`${files.stateFile}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${files.stateFile}.tmp`, files.stateFile);
  console.log(`supervisor: cluster ready at ${cluster.server}`);

  const reason = await Promise.race([cluster.exited, ...(node ? [node.exited] : [])]);
  if (stopping) return 0;
  console.error(`supervisor: ${reason}; stopping the rest`);
  writeFileSync(files.failedFile, `${reason}\n`);
  await stopAll();
  return 1;
}

function readPid(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function readState(files: StateFiles): ClusterState | undefined {
  if (!existsSync(files.stateFile)) return undefined;
  return JSON.parse(readFileSync(files.stateFile, 'utf8')) as ClusterState;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A detached child that exited stays a zombie until its parent (this CLI) reaps it. */
function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false; // no procfs: assume alive, as kill(0) said
  }
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return ''; // gone or no procfs: nothing to match
  }
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
