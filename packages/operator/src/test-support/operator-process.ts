import { fileURLToPath } from 'node:url';
import { freePorts, pollUntil, probe, requireTestCluster, startProcess, type ManagedProcess } from '@tsdapr/e2e-harness';
import { createTestPki, type TestPki } from './test-identities.js';

const MAIN = fileURLToPath(new URL('../main.bundle.mjs', import.meta.url));

export interface OperatorProcess {
  readonly process: ManagedProcess;
  readonly apiPort: number;
  readonly webhookPort: number;
  readonly healthzPort: number;
  readonly metricsPort: number;
  logs(): string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Runs the built operator as a process, as it runs in a pod, and waits for /readyz. */
export async function startOperatorProcess(options: { args: readonly string[]; env?: Record<string, string> }): Promise<OperatorProcess> {
  const [apiPort, webhookPort, healthzPort, metricsPort] = (await freePorts(4)) as [number, number, number, number];
  let output = '';
  const child = startProcess({
    name: 'operator',
    command: process.execPath,
    args: [
      MAIN,
      '--api-port', String(apiPort), '--api-listen-address', '127.0.0.1',
      '--webhook-port', String(webhookPort), '--webhook-listen-address', '127.0.0.1',
      '--healthz-port', String(healthzPort), '--healthz-listen-address', '127.0.0.1',
      '--metrics-port', String(metricsPort), '--metrics-listen-address', '127.0.0.1',
      '--log-level', 'debug',
      ...options.args,
    ],
    env: { ...process.env, ...options.env } as Record<string, string>,
    onOutput: (chunk) => {
      output += chunk.toString('utf8');
    },
  });
  const operator: OperatorProcess = {
    process: child,
    apiPort,
    webhookPort,
    healthzPort,
    metricsPort,
    logs: () => output,
    metrics: async () => (await probe(`http://127.0.0.1:${metricsPort}/metrics`)).body,
    stop: () => child.stop(5_000),
  };
  try {
    await pollUntil('operator /readyz', async () => {
      if (child.hasExited()) throw new Error('operator exited');
      const response = await probe(`http://127.0.0.1:${healthzPort}/readyz`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    }, { timeoutMs: 30_000 });
  } catch (err) {
    await child.stop(1000);
    throw new Error(`${(err as Error).message}\n--- operator output ---\n${output.slice(-4000)}`, { cause: err });
  }
  return operator;
}

/**
 * The operator as most integration tests run it: against the test cluster,
 * with the test's namespace as its own control-plane namespace (so its Lease
 * does not compete with other test files' operators) and as the only one it
 * watches, holding an SVID for that namespace from `pki`. `files` are the
 * SVID and trust-anchors files it was given (it watches them).
 */
export async function startOperatorInNamespace(
  namespace: string,
  args: readonly string[],
  pki: TestPki = createTestPki(),
): Promise<OperatorProcess & { readonly files: ReturnType<TestPki['writeOperatorFiles']> }> {
  const files = pki.writeOperatorFiles(`spiffe://cluster.local/ns/${namespace}/dapr-operator`);
  const operator = await startOperatorProcess({
    args: ['--kubeconfig', requireTestCluster(), '--tls-cert-file', files.certFile, '--tls-key-file', files.keyFile, '--trust-anchors-file', files.trustAnchorsFile, '--watch-namespace', namespace, ...args],
    env: { NAMESPACE: namespace },
  });
  return { ...operator, files };
}
