import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, sleep, type Logger, type Runner } from '@tsdapr/runtime';
import { SchedulerError } from '../core/scheduler-error.js';
import type { EmbeddedEtcdOptions } from '../options.js';

export interface EmbeddedEtcd {
  /** The client URL the scheduler connects to. */
  readonly endpoint: string;
  /** Runs etcd until the signal, then stops it (SIGTERM, then SIGKILL after 10 s). Fails if etcd exits on its own. */
  readonly runner: Runner;
  /** Resolves once etcd answers /health (a member of a three-member cluster needs a second member up). */
  waitHealthy(signal: AbortSignal): Promise<void>;
}

/**
 * The etcd `--etcd-embed` runs: upstream links etcd into the scheduler
 * binary; tsdapr runs the etcd program as a child process with the same
 * member name, data directory and cluster (docs/adr/0008). Its log goes to
 * this process's stderr as etcd writes it (JSON lines).
 */
export function embeddedEtcd(options: EmbeddedEtcdOptions, logger: Logger): EmbeddedEtcd {
  const clientHost = loopbackIp(options.clientHost);
  const endpoint = `http://${clientHost}:${options.clientPort}`;
  const peers = options.initialCluster.map((member) => {
    const eq = member.indexOf('=');
    return { name: member.slice(0, eq), url: member.slice(eq + 1) };
  });
  const own = peers.find((peer) => peer.name === options.name);
  if (!own) throw new SchedulerError('invalid_argument', `scheduler ID: ${options.name} is not found in initial cluster`);
  const single = peers.length === 1;
  const peerScheme = own.url.startsWith('https:') ? 'https' : 'http';
  const dataDir = join(options.dataDir, options.name);
  const args = [
    `--name=${options.name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    // A single member keeps its peer port on loopback; a cluster listens for its peers on every interface.
    `--listen-peer-urls=${peerScheme}://${single ? '127.0.0.1' : '0.0.0.0'}:${options.peerPort}`,
    `--initial-advertise-peer-urls=${own.url}`,
    `--initial-cluster=${peers.map((peer) => `${peer.name}=${peer.url}`).join(',')}`,
    '--initial-cluster-state=new',
    '--initial-cluster-token=tsdapr-scheduler',
    '--log-level=warn',
    ...options.extraArgs,
  ];

  const runner: Runner = async (signal) => {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    logger.info({ binary: options.binary, endpoint, dataDir, members: peers.map((peer) => peer.name) }, 'starting embedded etcd');
    const [command, commandArgs] = withParentDeathSignal(options.binary, args);
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    const stop = (): void => {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      void exited.then(() => clearTimeout(kill));
    };
    signal.addEventListener('abort', stop, { once: true });
    const status = await exited;
    signal.removeEventListener('abort', stop);
    if (signal.aborted) return;
    const why = status.error ? errorMessage(status.error) : status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
    throw new SchedulerError('unavailable', `embedded etcd (${options.binary}) stopped: ${why}`);
  };

  const waitHealthy = async (signal: AbortSignal): Promise<void> => {
    let warned = 0;
    const started = Date.now();
    while (!signal.aborted) {
      try {
        const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() - started > 15_000 * (warned + 1)) {
        warned++;
        logger.warn({ endpoint, waitedSeconds: Math.round((Date.now() - started) / 1000) }, 'embedded etcd is not healthy yet (a cluster member waits for a quorum of its peers)');
      }
      await sleep(200, signal);
    }
  };

  return { endpoint, runner, waitHealthy };
}

/**
 * Outside a pod nothing ends etcd when this process is killed (in a pod the
 * container goes as a whole): on Linux, `setpriv --pdeathsig` has the kernel
 * kill it with us, so a restarted scheduler finds its port and data free.
 */
function withParentDeathSignal(command: string, args: readonly string[]): [string, string[]] {
  try {
    if (process.platform !== 'linux') return [command, [...args]];
    accessSync('/usr/bin/setpriv', constants.X_OK);
    return ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]];
  } catch {
    return [command, [...args]]; // no setpriv (the image): the container's end stops etcd
  }
}

/** etcd listens only on IP addresses. */
function loopbackIp(host: string): string {
  return host === 'localhost' || host === '' ? '127.0.0.1' : host;
}
