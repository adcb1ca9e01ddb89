import { freePorts, probe, startServiceProcess, type ManagedProcess } from '@tsdapr/e2e-harness';
export { sentryClient, type SentryClient } from '@tsdapr/identity';

export interface SentryProcess {
  readonly process: ManagedProcess;
  readonly grpcPort: number;
  readonly healthzPort: number;
  readonly metricsPort: number;
  logs(): string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Runs the built sentry as a process, as it runs in a pod, on loopback ports, and waits for /readyz. */
export async function startSentryProcess(options: { args: readonly string[]; env?: Record<string, string> }): Promise<SentryProcess> {
  const [grpcPort, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const service = await startServiceProcess(
    'sentry',
    healthzPort,
    ['--port', String(grpcPort), '--listen-address', '127.0.0.1', '--healthz-listen-address', '127.0.0.1', '--metrics-port', String(metricsPort), '--metrics-listen-address', '127.0.0.1', ...options.args],
    options.env,
  );
  return {
    ...service,
    grpcPort,
    healthzPort,
    metricsPort,
    metrics: async () => (await probe(`http://127.0.0.1:${metricsPort}/metrics`)).body,
  };
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
