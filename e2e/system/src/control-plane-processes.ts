import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath, freePorts, startServiceProcess, type ServiceProcess } from '@tsdapr/e2e-harness';

/** A service listening on `port` (its `--port`), its health and metrics on ports of their own. */
export interface PortedService extends ServiceProcess {
  readonly port: number;
}

/** Runs a built service whose gRPC port flag is `--port` (sentry, placement). */
export async function startService(name: 'sentry' | 'placement' | 'scheduler', args: readonly string[], env: Record<string, string> = {}, fixedPort?: number): Promise<PortedService> {
  const [freePort, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const port = fixedPort ?? freePort;
  const service = await startServiceProcess(name, healthzPort, ['--port', String(port), '--metrics-port', String(metricsPort), ...args], env);
  return { ...service, port };
}

export interface StandaloneControlPlane {
  readonly sentry: PortedService;
  readonly placement: PortedService;
  /** The scheduler with its embedded etcd (a child process), as upstream's default runs it. */
  readonly scheduler: PortedService;
  /** Starts a scheduler again with the same flags and data (after the old one was stopped or killed). */
  restartScheduler(): Promise<PortedService>;
  readonly trustAnchorsPem: string;
  /** The issuer certificate sentry signs with. */
  readonly issuerPem: string;
  readonly trustDomain: string;
  readonly namespace: string;
  stop(): Promise<void>;
}

/**
 * Sentry, placement and the scheduler in standalone mode with mTLS, as
 * `dapr init` would run upstream's: their SVIDs come from sentry, daprd's too.
 */
export async function startStandaloneControlPlane(): Promise<StandaloneControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), 'tsdapr-system-'));
  const trustDomain = 'cluster.local';
  const namespace = 'dapr-system';
  const env = { NAMESPACE: namespace };
  const sentry = await startService('sentry', ['--mode', 'standalone', '--listen-address', '127.0.0.1', '--issuer-credentials', join(dir, 'credentials'), '--trust-domain', trustDomain], env);
  const anchorsFile = join(dir, 'credentials', 'ca.crt');
  const mtlsArgs = ['--mode', 'standalone', '--tls-enabled', '--trust-domain', trustDomain, '--trust-anchors-file', anchorsFile, '--sentry-address', `127.0.0.1:${sentry.port}`, '--sentry-token-file', ''];
  let placement: PortedService | undefined;
  let scheduler: PortedService;
  const schedulerArgs = ([etcdClientPort, etcdPeerPort]: readonly number[]): string[] => [
    ...mtlsArgs,
    '--listen-address', '127.0.0.1',
    '--etcd-binary', binaryPath('etcd'),
    '--etcd-data-dir', join(dir, 'scheduler-data'),
    '--etcd-client-port', String(etcdClientPort),
    '--etcd-peer-port', String(etcdPeerPort),
    '--etcd-initial-cluster', `dapr-scheduler-server-0=http://127.0.0.1:${etcdPeerPort}`,
  ];
  let schedulerPorts = (await freePorts(3)) as [number, number, number];
  // Restarts keep the ports: the embedded etcd's data names its peer URL.
  const startScheduler = (): Promise<PortedService> => startService('scheduler', schedulerArgs(schedulerPorts.slice(1)), env, schedulerPorts[0]);
  /**
   * The first start takes new ports when one was taken between freePorts and the bind (other test
   * files, a node's components, pick free ports at the same time): the data dir is still empty.
   */
  const firstStartScheduler = async (): Promise<PortedService> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startScheduler();
      } catch (err) {
        if (attempt >= 3 || !/address already in use/.test(String(err))) throw err;
        await rm(join(dir, 'scheduler-data'), { recursive: true, force: true });
        schedulerPorts = (await freePorts(3)) as [number, number, number];
      }
    }
  };
  try {
    placement = await startService('placement', mtlsArgs, env);
    scheduler = await firstStartScheduler();
  } catch (err) {
    await placement?.stop();
    await sentry.stop();
    throw err;
  }
  return {
    sentry,
    placement,
    get scheduler() {
      return scheduler;
    },
    async restartScheduler() {
      scheduler = await startScheduler();
      return scheduler;
    },
    trustAnchorsPem: await readFile(anchorsFile, 'utf8'),
    issuerPem: await readFile(join(dir, 'credentials', 'issuer.crt'), 'utf8'),
    trustDomain,
    namespace,
    async stop() {
      await scheduler.stop();
      await placement?.stop();
      await sentry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
