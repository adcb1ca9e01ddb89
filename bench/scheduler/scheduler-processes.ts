import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeExit, freePorts, pollUntil, probe, repoRoot, startEtcd as startHarnessEtcd, startProcess, type ManagedProcess } from '@tsdapr/e2e-harness';

export interface StartedEtcd {
  readonly process: ManagedProcess;
  /** `http://127.0.0.1:<client port>` */
  readonly url: string;
  readonly logFile: string;
  /** Stops etcd and removes its data directory. */
  stop(): Promise<void>;
}

export interface StartedScheduler {
  readonly process: ManagedProcess;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** Resolves with an error when the process exits, for pollUntil's abortWhen. */
function exitAsError(child: ManagedProcess, logFile: string): Promise<Error> {
  return child.exited.then((exit) => new Error(`${child.name} ${describeExit(exit)} (log: ${logFile}): ${logTail(logFile, 15)}`));
}

/** The last lines of a log, for error messages. */
export function logTail(logFile: string, lines: number): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * A single-member etcd from the Go build cache (the harness's), on free
 * 127.0.0.1 ports with a fresh data directory (removed by stop); its log in
 * /tmp outlives it. No fsync unless `fsync`: throwaway data.
 */
export async function startEtcd(label: string, fsync: boolean): Promise<StartedEtcd> {
  const logFile = join(tmpdir(), `scheduler-bench-etcd-${label}.log`);
  rmSync(logFile, { force: true });
  const etcd = await startHarnessEtcd({ logFile, fsync });
  return { process: etcd.process, url: etcd.endpoint, logFile, stop: () => etcd.stop() };
}

export const OUR_SCHEDULER_BUNDLE = 'packages/scheduler/dist/main.bundle.mjs';

/**
 * Our scheduler, standalone and plaintext, against an external etcd,
 * every port on 127.0.0.1; ready when /readyz on its health port answers 200.
 * This process's Node flags go along, so `node --cpu-prof` profiles it too.
 */
export async function startOurScheduler(etcdUrl: string, label: string): Promise<StartedScheduler> {
  const bundle = join(repoRoot(), OUR_SCHEDULER_BUNDLE);
  if (!existsSync(bundle)) throw new Error(`${OUR_SCHEDULER_BUNDLE} is not built: run pnpm build`);
  const [port, healthz, metrics] = (await freePorts(3)) as [number, number, number];
  const logFile = join(tmpdir(), `scheduler-bench-scheduler-${label}.log`);
  rmSync(logFile, { force: true });
  const args = [
    ...process.execArgv,
    bundle,
    '--etcd-embed=false',
    '--etcd-client-endpoints',
    etcdUrl,
    '--port',
    String(port),
    '--healthz-port',
    String(healthz),
    '--metrics-port',
    String(metrics),
    '--listen-address',
    '127.0.0.1',
    '--healthz-listen-address',
    '127.0.0.1',
    '--metrics-listen-address',
    '127.0.0.1',
    '--log-level',
    'warn',
  ];
  const child = startProcess({ name: 'scheduler', command: process.execPath, args, logFile });
  try {
    await pollUntil('scheduler /readyz', async () => ((await probe(`http://127.0.0.1:${healthz}/readyz`, { timeoutMs: 2000 })).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      abortWhen: exitAsError(child, logFile),
    });
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { process: child, address: `127.0.0.1:${port}`, logFile, stop: () => child.stop() };
}
