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
  /** Stops etcd (keeping its data) and, after `downMs`, starts it again on the same port; resolves once healthy. */
  restart(options?: { readonly downMs?: number }): Promise<void>;
  /** Stops etcd and keeps its data (for an outage test); `start()` brings it back. */
  stopKeepingData(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A single-member etcd from the Go build cache on free loopback ports, in a
 * temp dir of its own: the store the scheduler's tests run against.
 */
export async function startEtcd(): Promise<Etcd> {
  const command = binaryPath('etcd');
  const dataDir = mkdtempSync(join(tmpdir(), 'tsdapr-etcd-'));
  const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name=test',
    `--data-dir=${join(dataDir, 'data')}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=test=${peer}`,
    // Throwaway test data: fsync only costs time.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
  let child: ManagedProcess | undefined;
  const launch = async (): Promise<void> => {
    const started = startProcess({ name: 'etcd', command, args, logFile: join(dataDir, 'etcd.log') });
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
