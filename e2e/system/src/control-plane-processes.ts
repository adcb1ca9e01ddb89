import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, startServiceProcess, type ServiceProcess } from '@tsdapr/e2e-harness';

/** A service listening on `port` (its `--port`), its health and metrics on ports of their own. */
export interface PortedService extends ServiceProcess {
  readonly port: number;
}

/** Runs a built service whose gRPC port flag is `--port` (sentry, placement). */
export async function startService(name: 'sentry' | 'placement', args: readonly string[], env: Record<string, string> = {}): Promise<PortedService> {
  const [port, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const service = await startServiceProcess(name, healthzPort, ['--port', String(port), '--metrics-port', String(metricsPort), ...args], env);
  return { ...service, port };
}

export interface StandaloneControlPlane {
  readonly sentry: PortedService;
  readonly placement: PortedService;
  readonly trustAnchorsPem: string;
  /** The issuer certificate sentry signs with. */
  readonly issuerPem: string;
  readonly trustDomain: string;
  readonly namespace: string;
  stop(): Promise<void>;
}

/**
 * Sentry and placement in standalone mode with mTLS, as `dapr init` would run
 * upstream's: placement's SVID comes from sentry, daprd's too.
 */
export async function startStandaloneControlPlane(): Promise<StandaloneControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), 'tsdapr-system-'));
  const trustDomain = 'cluster.local';
  const namespace = 'dapr-system';
  const env = { NAMESPACE: namespace };
  const sentry = await startService('sentry', ['--mode', 'standalone', '--listen-address', '127.0.0.1', '--issuer-credentials', join(dir, 'credentials'), '--trust-domain', trustDomain], env);
  const anchorsFile = join(dir, 'credentials', 'ca.crt');
  let placement: PortedService;
  try {
    placement = await startService('placement', ['--mode', 'standalone', '--tls-enabled', '--trust-domain', trustDomain, '--trust-anchors-file', anchorsFile, '--sentry-address', `127.0.0.1:${sentry.port}`, '--sentry-token-file', ''], env);
  } catch (err) {
    await sentry.stop();
    throw err;
  }
  return {
    sentry,
    placement,
    trustAnchorsPem: await readFile(anchorsFile, 'utf8'),
    issuerPem: await readFile(join(dir, 'credentials', 'issuer.crt'), 'utf8'),
    trustDomain,
    namespace,
    async stop() {
      await placement.stop();
      await sentry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
