import { freePorts, probe, startServiceProcess, type Etcd, type ServiceProcess } from '@tsdapr/e2e-harness';

/**
 * A scheduler process of the built bundle against an external (test) etcd on
 * free loopback ports, with a way to SIGKILL it and start it again with the
 * same flags. Test-only.
 */
export interface SchedulerProcess {
  readonly id: string;
  readonly address: string;
  readonly grpcPort: number;
  readonly healthzPort: number;
  readonly metricsPort: number;
  current(): ServiceProcess;
  logs(): string;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** Starts again with the same flags and ports; resolves once /readyz answers 200. */
  start(): Promise<void>;
  stop(): Promise<void>;
  metrics(): Promise<string>;
  healthz(): Promise<number>;
}

export interface SchedulerProcessOptions {
  readonly etcd: Etcd;
  readonly keyPrefix: string;
  readonly id?: string;
  readonly extraArgs?: readonly string[];
}

export async function startSchedulerProcess(options: SchedulerProcessOptions): Promise<SchedulerProcess> {
  const [grpcPort, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const id = options.id ?? 'dapr-scheduler-server-0';
  const args = [
    '--etcd-embed=false',
    '--etcd-client-endpoints',
    options.etcd.endpoint,
    '--listen-address',
    '127.0.0.1',
    '--port',
    String(grpcPort),
    '--metrics-port',
    String(metricsPort),
    '--metrics-listen-address',
    '127.0.0.1',
    '--healthz-listen-address',
    '127.0.0.1',
    '--etcd-key-prefix',
    options.keyPrefix,
    '--id',
    id,
    ...(options.extraArgs ?? []),
  ];
  let service = await startServiceProcess('scheduler', healthzPort, args);
  let previousLogs = '';
  return {
    id,
    address: `127.0.0.1:${grpcPort}`,
    grpcPort,
    healthzPort,
    metricsPort,
    current: () => service,
    logs: () => previousLogs + service.logs(),
    async kill() {
      await service.process.kill();
    },
    async start() {
      previousLogs += service.logs() + '\n--- restarted ---\n';
      service = await startServiceProcess('scheduler', healthzPort, args);
    },
    stop: () => service.stop(),
    async metrics() {
      return (await probe(`http://127.0.0.1:${metricsPort}/metrics`)).body;
    },
    async healthz() {
      return (await probe(`http://127.0.0.1:${healthzPort}/healthz`, { timeoutMs: 2000 })).status;
    },
  };
}

/** The value of one metric sample (summed over label sets when `labels` is omitted), 0 when absent. */
export function metricValue(text: string, name: string, labels?: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    if (labels) {
      const text = match[2] ?? '';
      if (!Object.entries(labels).every(([key, value]) => text.includes(`${key}="${value}"`))) continue;
    }
    sum += Number(match[3]);
  }
  return sum;
}
