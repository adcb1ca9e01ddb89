import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { binaryPath, describeExit, freePorts, pollUntil, probe, startProcess } from '@tsdapr/e2e-harness';

/** Where the injected container mounts the `dapr-identity-token` projected volume. */
const TOKEN_MOUNT_PATH = '/var/run/secrets/dapr.io/sentrytoken';

export interface LocalAddresses {
  readonly operator: string;
  readonly sentry: string;
  readonly placement: string;
  readonly scheduler: string;
}

export interface LocalPorts {
  readonly http: number;
  readonly grpc: number;
  readonly internalGrpc: number;
  readonly public: number;
  readonly metrics: number;
}

export interface LocalDaprdCommand {
  readonly args: string[];
  readonly env: Record<string, string>;
  /** Each change made to the injected container, for the report. */
  readonly deviations: string[];
}

/** Flags whose value is a `<svc>.<ns>.svc...` address, and which local address replaces it. */
const ADDRESS_FLAGS: Record<string, keyof LocalAddresses> = {
  '--control-plane-address': 'operator',
  '--sentry-address': 'sentry',
  '--placement-host-address': 'placement',
  '--scheduler-host-address': 'scheduler',
};

/** Port flags, remapped to free ports (several daprd can run on one host). */
const PORT_FLAGS: Record<string, keyof LocalPorts> = {
  '--dapr-http-port': 'http',
  '--dapr-grpc-port': 'grpc',
  '--dapr-internal-grpc-port': 'internalGrpc',
  '--dapr-public-port': 'public',
  '--metrics-port': 'metrics',
};

/** The injected `daprd` container of a pod. */
export function daprdContainer(pod: V1Pod): V1Container {
  const container = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === 'daprd');
  if (!container) throw new Error(`pod ${pod.metadata?.name} has no daprd container: ${JSON.stringify(pod.spec?.containers?.map((c) => c.name))}`);
  return container;
}

/** The audience and lifetime the injected `dapr-identity-token` projected volume asks for. */
export function identityTokenRequest(pod: V1Pod, container: V1Container): { audience: string; expirationSeconds: number } {
  const mount = container.volumeMounts?.find((m) => m.mountPath === TOKEN_MOUNT_PATH);
  if (!mount) throw new Error(`daprd has no volume mounted at ${TOKEN_MOUNT_PATH}: ${JSON.stringify(container.volumeMounts)}`);
  const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
  const source = volume?.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
  if (!source?.audience) throw new Error(`volume ${mount.name} is not a projected service-account token with an audience: ${JSON.stringify(volume)}`);
  return { audience: source.audience, expirationSeconds: source.expirationSeconds ?? 3600 };
}

/**
 * The injected container as a local command line: its command and args with
 * the four control-plane addresses pointed at 127.0.0.1 and the ports made
 * free ones; its env with the downward-API fields resolved from the pod.
 * Nothing else is changed: an address this does not know fails, so no
 * in-cluster name reaches daprd unnoticed.
 */
export function localDaprdCommand(pod: V1Pod, container: V1Container, addresses: LocalAddresses, ports: LocalPorts): LocalDaprdCommand {
  const deviations: string[] = [];
  const injected = [...(container.command ?? []), ...(container.args ?? [])];
  if (injected[0] === '/daprd') {
    injected.shift();
    deviations.push('command /daprd -> the cached upstream daprd binary');
  }
  const args: string[] = [];
  for (let i = 0; i < injected.length; i++) {
    const raw = injected[i] ?? '';
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0;
    const address = ADDRESS_FLAGS[flag];
    const port = PORT_FLAGS[flag];
    if (address === undefined && port === undefined) {
      if (/\.svc(\.|:|$)/.test(raw)) throw new Error(`daprd argument ${raw} names an in-cluster address this test does not map`);
      args.push(raw);
      continue;
    }
    const old = inline ? raw.slice(eq + 1) : (injected[++i] ?? '');
    const value = address !== undefined ? addresses[address] : String(ports[port as keyof LocalPorts]);
    deviations.push(`${flag} ${old} -> ${value}`);
    args.push(flag, value);
  }

  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
      continue;
    }
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    const resolved =
      fieldPath === 'metadata.name' ? pod.metadata?.name : fieldPath === 'metadata.namespace' ? pod.metadata?.namespace : fieldPath === 'status.podIP' ? pod.status?.podIP : undefined;
    if (resolved === undefined) throw new Error(`cannot resolve env ${variable.name} from ${JSON.stringify(variable.valueFrom)} outside a pod`);
    env[variable.name] = resolved;
    deviations.push(`env ${variable.name} from fieldRef ${fieldPath} resolved by the test to "${resolved}" (the kubelet would)`);
  }
  if (container.envFrom?.length) throw new Error(`daprd has envFrom, which this test does not resolve: ${JSON.stringify(container.envFrom)}`);
  return { args, env, deviations };
}

export interface InjectedDaprd {
  readonly httpPort: number;
  readonly ports: LocalPorts;
  readonly command: LocalDaprdCommand;
  logs(): string;
  /** The last `chars` of daprd's output, for assertion messages. */
  tail(chars?: number): string;
  waitHealthy(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the pod's injected daprd container as a local process of the cached
 * upstream daprd, with a TokenRequest token bound to the pod standing in for
 * the projected `dapr-identity-token` volume.
 */
export async function startInjectedDaprd(kubeConfig: KubeConfig, pod: V1Pod, addresses: LocalAddresses, version?: string): Promise<InjectedDaprd> {
  const container = daprdContainer(pod);
  const [http, grpc, internalGrpc, publicPort, metrics] = (await freePorts(5)) as [number, number, number, number, number];
  const ports: LocalPorts = { http, grpc, internalGrpc, public: publicPort, metrics };
  const command = localDaprdCommand(pod, container, addresses, ports);

  // The kubelet's projected volume: a token bound to this pod, with the volume's audience.
  const { audience, expirationSeconds } = identityTokenRequest(pod, container);
  const namespace = pod.metadata?.namespace ?? '';
  const request = await kubeConfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace,
    name: pod.spec?.serviceAccountName ?? 'default',
    body: { spec: { audiences: [audience], expirationSeconds, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' } } },
  });
  const dir = await mkdtemp(join(tmpdir(), 'tsdapr-injected-daprd-'));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, request.status?.token ?? '', { mode: 0o600 });

  // The built-in `kubernetes` secret store needs an in-cluster kubeconfig (or ~/.kube/config); without one
  // daprd 1.17.5 exits: "Failed to init component kubernetes (secretstores.kubernetes/v1): ... stat /root/.kube/config".
  command.args.push('--disable-builtin-k8s-secret-store');
  command.deviations.push('--disable-builtin-k8s-secret-store added (no in-cluster kubeconfig outside a pod)');

  const env: Record<string, string> = {
    ...command.env,
    // daprd 1.17 reads DAPR_SENTRY_TOKEN_FILE before its fixed path and, in Kubernetes mode, still sends the KUBERNETES validator.
    DAPR_SENTRY_TOKEN_FILE: tokenFile,
    // Kubernetes mode refuses to run as root; this test runs as root.
    DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK: 'true',
  };
  command.deviations.push(
    `projected volume dapr-identity-token (audience ${audience}, ${expirationSeconds}s) at ${TOKEN_MOUNT_PATH}/token -> a TokenRequest token bound to pod ${namespace}/${pod.metadata?.name} with that audience and lifetime, in ${tokenFile}, passed as env DAPR_SENTRY_TOKEN_FILE`,
    'env DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK=true added (the test runs as root)',
  );

  // startProcess layers this over the test process's environment (PATH, HOME, ...); the container's variables win.
  let output = '';
  const child = startProcess({
    name: `daprd ${pod.metadata?.name}`,
    command: binaryPath('daprd', version),
    args: command.args,
    env,
    onOutput: (chunk) => {
      output += chunk.toString('utf8');
      if (output.length > 4_000_000) output = output.slice(-2_000_000);
    },
  });
  const exitError = child.exited.then((status) => new Error(`daprd ${describeExit(status)} (see its log tail)`));
  return {
    httpPort: http,
    ports,
    command: { ...command, env },
    logs: () => output,
    tail: (chars = 6000) => output.slice(-chars),
    async waitHealthy(timeoutMs) {
      await pollUntil(
        'daprd /v1.0/healthz',
        async () => {
          const response = await probe(`http://127.0.0.1:${http}/v1.0/healthz`);
          if (response.status === 204) return true;
          throw new Error(`HTTP ${response.status} ${response.body}`);
        },
        { timeoutMs, abortWhen: exitError },
      );
    },
    async stop() {
      await child.stop(5000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
