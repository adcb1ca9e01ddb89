import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, pollUntil, probe, repoRoot, startProcess, type ManagedProcess } from '@tsdapr/e2e-harness';

export interface ServiceProcess {
  readonly process: ManagedProcess;
  readonly port: number;
  readonly healthzPort: number;
  readonly metricsPort: number;
  logs(): string;
  stop(): Promise<void>;
}

/** Runs a built tsdapr service (`packages/<name>/dist/main.js`) and waits for /readyz. */
export async function startService(name: 'sentry' | 'placement' | 'operator' | 'injector', args: readonly string[], env: Record<string, string> = {}): Promise<ServiceProcess> {
  const [port, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  let output = '';
  const child = startProcess({
    name,
    command: process.execPath,
    args: [join(repoRoot(), 'packages', name, 'dist', 'main.js'), '--port', String(port), '--healthz-port', String(healthzPort), '--metrics-port', String(metricsPort), '--log-level', 'debug', ...args],
    env: { ...(process.env as Record<string, string>), ...env },
    onOutput: (chunk) => {
      output += chunk.toString('utf8');
    },
  });
  try {
    await pollUntil(`${name} /readyz`, async () => {
      if (child.hasExited()) throw new Error(`${name} exited`);
      return (await probe(`http://127.0.0.1:${healthzPort}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined;
    }, { timeoutMs: 60_000 });
  } catch (err) {
    await child.stop(1000);
    throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${output.slice(-4000)}`, { cause: err });
  }
  return { process: child, port, healthzPort, metricsPort, logs: () => output, stop: () => child.stop(5000) };
}

export interface StandaloneControlPlane {
  readonly sentry: ServiceProcess;
  readonly placement: ServiceProcess;
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
  let placement: ServiceProcess;
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
