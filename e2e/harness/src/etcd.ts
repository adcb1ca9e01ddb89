import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath } from './binaries.js';
import { freePorts } from './free-port.js';
import { pollUntil, probe } from './http-probe.js';
import { describeExit, startProcess, type ManagedProcess } from './managed-process.js';

export interface Etcd {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly pid: number;
  /** The running etcd (the latest, after a restart). */
  readonly process: ManagedProcess;
  readonly logFile: string;
  /** Stops etcd (keeping its data) and, after `downMs`, starts it again on the same port; resolves once healthy. */
  restart(options?: { readonly downMs?: number }): Promise<void>;
  /** Stops etcd and keeps its data (for an outage test); `start()` brings it back. */
  stopKeepingData(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface EtcdOptions {
  /** etcd's log (default: etcd.log in its temp dir, removed by stop). */
  readonly logFile?: string;
  /** fsync as in production (default off: throwaway test data, fsync only costs time). */
  readonly fsync?: boolean;
}

/** The flags of a single-member etcd on 127.0.0.1, for the test cluster's and the scheduler's. */
export function singleMemberEtcdArgs(options: { readonly name: string; readonly dataDir: string; readonly clientPort: number; readonly peerPort: number; readonly fsync?: boolean }): string[] {
  const client = `http://127.0.0.1:${options.clientPort}`;
  const peer = `http://127.0.0.1:${options.peerPort}`;
  return [
    `--name=${options.name}`,
    `--data-dir=${options.dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${options.name}=${peer}`,
    ...(options.fsync ? [] : ['--unsafe-no-fsync']),
    '--log-level=warn',
  ];
}

/**
 * A single-member etcd from the Go build cache on free loopback ports, in a
 * temp dir of its own: the store the scheduler's tests and bench run against.
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<Etcd> {
  const command = binaryPath('etcd');
  const dataDir = mkdtempSync(join(tmpdir(), 'tsdapr-etcd-'));
  const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const args = singleMemberEtcdArgs({ name: 'test', dataDir: join(dataDir, 'data'), clientPort, peerPort, ...(options.fsync ? { fsync: true } : {}) });
  const logFile = options.logFile ?? join(dataDir, 'etcd.log');
  let child: ManagedProcess | undefined;
  const launch = async (): Promise<void> => {
    const started = startProcess({ name: 'etcd', command, args, logFile });
    child = started;
    await pollUntil(`etcd ${endpoint}/health`, async () => ((await probe(`${endpoint}/health`).catch(() => undefined))?.status === 200 ? true : undefined), {
      timeoutMs: 30_000,
      abortWhen: started.exited.then((status) => new Error(`etcd ${describeExit(status)}`)),
    });
  };
  await launch();
  return {
    endpoint,
    get pid() {
      return child?.pid ?? -1;
    },
    get process() {
      if (!child) throw new Error('etcd is stopped');
      return child;
    },
    logFile,
    async restart(options = {}) {
      await child?.stop(5000);
      if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
      await launch();
    },
    async stopKeepingData() {
      await child?.stop(5000);
      child = undefined;
    },
    start: launch,
    async stop() {
      await child?.stop(5000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
