import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath } from './binaries.js';
import { freePorts } from './free-port.js';
import { pollUntil, probe } from './http-probe.js';
import { describeExit, startProcess } from './managed-process.js';

export interface DaprdOptions {
  readonly appId: string;
  /** Extra flags, appended after the harness's own (so a later flag wins where daprd allows it). */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** A daprd version from the Go build cache; the pinned one when absent. */
  readonly version?: string;
}

export interface Daprd {
  readonly pid: number;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly internalGrpcPort: number;
  readonly metricsPort: number;
  /** The temporary `--resources-path` directory (removed by stop). */
  readonly resourcesPath: string;
  /** Everything daprd wrote to stdout and stderr so far (the tail, when it is very long). */
  logs(): string;
  /** Polls `/v1.0/healthz` until it answers 204; fails early if daprd exits. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const MAX_LOG_CHARS = 4_000_000;

/**
 * Runs the cached upstream daprd on free loopback ports. Without a
 * `--resources-path` of the caller's it gets an empty temp dir, so nothing
 * from ~/.dapr leaks in.
 */
export async function startDaprd(options: DaprdOptions): Promise<Daprd> {
  const command = binaryPath('daprd', options.version);
  const [httpPort, grpcPort, internalGrpcPort, metricsPort] = (await freePorts(4)) as [number, number, number, number];
  const resourcesPath = mkdtempSync(join(tmpdir(), 'tsdapr-daprd-resources-'));
  const callerArgs = options.args ?? [];
  const args = [
    `--app-id=${options.appId}`,
    `--dapr-http-port=${httpPort}`,
    `--dapr-grpc-port=${grpcPort}`,
    `--dapr-internal-grpc-port=${internalGrpcPort}`,
    `--metrics-port=${metricsPort}`,
    '--log-level=debug',
    ...(callerArgs.some((arg) => /^--?resources-path(=|$)/.test(arg)) ? [] : [`--resources-path=${resourcesPath}`]),
    ...callerArgs,
  ];

  let output = '';
  const child = startProcess({
    name: `daprd ${options.appId}`,
    command,
    args,
    ...(options.env ? { env: options.env } : {}),
    onOutput: (chunk) => {
      output += chunk.toString('utf8');
      if (output.length > MAX_LOG_CHARS) output = output.slice(-MAX_LOG_CHARS / 2);
    },
  });
  const exitError = child.exited.then((status) => new Error(`daprd ${describeExit(status)}\n${output.slice(-4000)}`));

  return {
    pid: child.pid,
    httpPort,
    grpcPort,
    internalGrpcPort,
    metricsPort,
    resourcesPath,
    logs: () => output,
    async waitHealthy(timeoutMs = 30_000): Promise<void> {
      await pollUntil(
        `daprd ${options.appId} /v1.0/healthz`,
        async () => {
          const response = await probe(`http://127.0.0.1:${httpPort}/v1.0/healthz`);
          if (response.status === 204) return true;
          throw new Error(`HTTP ${response.status} ${response.body}`);
        },
        { timeoutMs, abortWhen: exitError },
      );
    },
    async stop(): Promise<void> {
      await child.stop(5_000);
      rmSync(resourcesPath, { recursive: true, force: true });
    },
  };
}

/** `daprd --version` of the cached binary, trimmed. */
export async function daprdVersion(version?: string): Promise<string> {
  const command = binaryPath('daprd', version);
  return new Promise((resolve, reject) => {
    execFile(command, ['--version'], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`daprd --version failed: ${stderr || err.message}`, { cause: err }));
      else resolve(stdout.trim());
    });
  });
}
