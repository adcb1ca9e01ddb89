import { fileURLToPath } from 'node:url';
import { freePorts, pollUntil, probe, startProcess, type ManagedProcess } from '@tsdapr/e2e-harness';
export { sentryClient, type SentryClient } from '@tsdapr/identity';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

export interface SentryProcess {
  readonly process: ManagedProcess;
  readonly grpcPort: number;
  readonly healthzPort: number;
  readonly metricsPort: number;
  logs(): string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Runs the built sentry as a process, as it runs in a pod, and waits for /readyz. */
export async function startSentryProcess(options: { args: readonly string[]; env?: Record<string, string>; waitReady?: boolean }): Promise<SentryProcess> {
  const [grpcPort, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  let output = '';
  const child = startProcess({
    name: 'sentry',
    command: process.execPath,
    args: [MAIN, '--port', String(grpcPort), '--listen-address', '127.0.0.1', '--healthz-port', String(healthzPort), '--healthz-listen-address', '127.0.0.1', '--metrics-port', String(metricsPort), '--metrics-listen-address', '127.0.0.1', '--log-level', 'debug', ...options.args],
    env: { ...process.env, ...options.env } as Record<string, string>,
    onOutput: (chunk) => {
      output += chunk.toString('utf8');
    },
  });
  const sentry: SentryProcess = {
    process: child,
    grpcPort,
    healthzPort,
    metricsPort,
    logs: () => output,
    metrics: async () => (await probe(`http://127.0.0.1:${metricsPort}/metrics`)).body,
    stop: () => child.stop(5_000),
  };
  if (options.waitReady ?? true) {
    try {
      await pollUntil('sentry /readyz', async () => {
        if (child.hasExited()) throw new Error(`sentry exited:\n${output}`);
        const response = await probe(`http://127.0.0.1:${healthzPort}/readyz`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      }, { timeoutMs: 30_000 });
    } catch (err) {
      await child.stop(1000);
      throw new Error(`${(err as Error).message}\n--- sentry output ---\n${output.slice(-4000)}`, { cause: err });
    }
  }
  return sentry;
}

/** The value of one counter sample in Prometheus text, 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (wanted.every((label) => rest.includes(label))) return Number(line.split(' ').pop());
  }
  return 0;
}
