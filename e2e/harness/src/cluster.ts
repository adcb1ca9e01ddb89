import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { binaryPath } from './binaries.js';
import { singleMemberEtcdArgs } from './etcd.js';
import { freePorts } from './free-port.js';
import { expectOk, pollUntil, probe } from './http-probe.js';
import { exitAsError, logTail, startProcess, type ManagedProcess } from './managed-process.js';

export interface ClusterOptions {
  /** Where etcd data, certificates, keys and the kubeconfig go. A fresh temp dir (removed by stop) when absent. */
  readonly dataDir?: string;
  /** Where each component's log goes. `<dataDir>/logs` when absent. */
  readonly logDir?: string;
  /**
   * false: etcd and kube-apiserver only (no ServiceAccounts are made, so no
   * pods): a second API server for a test that needs other CRDs of the same
   * names, e.g. upstream's next to ours. Default true.
   */
  readonly controllerManager?: boolean;
}

export interface Cluster {
  /** An admin kubeconfig (group system:masters). */
  readonly kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** The admin bearer token the kubeconfig holds. */
  readonly token: string;
  readonly dataDir: string;
  readonly logDir: string;
  /** What a second kube-apiserver on the same etcd needs, e.g. the node's (node/node.ts). */
  readonly apiserverSetup: ApiServerSetup;
  /** Component name to pid, for supervisors and diagnostics (0: not started, `controllerManager: false`). */
  readonly pids: Readonly<Record<ComponentName, number>>;
  /** Resolves when the first component exits, whether by stop() or on its own, e.g. `kube-apiserver exited with code 1`. */
  readonly exited: Promise<string>;
  kubeConfig(): KubeConfig;
  /**
   * Stops kube-apiserver and starts it again with the same flags and port,
   * keeping etcd and its data (and the serving certificate, so kubeconfigs
   * stay valid); resolves once /readyz answers again. For tests of clients
   * that must survive an API server restart. `exited` does not count it.
   */
  restartApiServer(options?: { readonly downMs?: number }): Promise<void>;
  /** Stops every component and removes the data dir when the harness created it. */
  stop(): Promise<void>;
}

/**
 * The kube-apiserver's backend and credentials. A second apiserver started
 * with these serves the same objects under the same certificate, so
 * kubeconfigs and the pods' `kube-root-ca.crt` trust it too.
 */
export interface ApiServerSetup {
  /** `http://127.0.0.1:<port>` */
  readonly etcdUrl: string;
  readonly port: number;
  /** The self-signed serving certificate followed by its CA (the bundle clients trust). */
  readonly servingCertPath: string;
  readonly servingKeyPath: string;
  /** `token,user,uid,"groups"` lines; the admin's only. */
  readonly tokenFile: string;
  readonly serviceAccountKeyPath: string;
  readonly serviceAccountPubPath: string;
  readonly serviceAccountIssuer: string;
  readonly serviceClusterIpRange: string;
}

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager';

export class ClusterStartError extends Error {
  readonly code = 'cluster_start_failed';
}

const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
const ADMIN_USER = 'tsdapr-admin';
const STARTUP_TIMEOUT_MS = { etcd: 30_000, apiserver: 120_000, serviceAccount: 90_000 } as const;
const LOG_TAIL_LINES = 40;

interface Layout {
  readonly dataDir: string;
  readonly logDir: string;
  readonly ownsDataDir: boolean;
  readonly etcdDataDir: string;
  readonly certDir: string;
  readonly kcmCertDir: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  readonly tokenFile: string;
  readonly kubeconfigPath: string;
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager from the Go build
 * cache on free loopback ports and waits until the API answers and the
 * `default` ServiceAccount exists (so pods can be created).
 * Nothing runs a pod: there is no kubelet or scheduler, so pods stay Pending.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const binaries = {
    etcd: binaryPath('etcd'),
    apiserver: binaryPath('kube-apiserver'),
    controllerManager: binaryPath('kube-controller-manager'),
  };
  const layout = prepareLayout(options);
  const token = randomBytes(24).toString('hex');
  writeCredentials(layout, token);
  const [etcdClientPort, etcdPeerPort, apiserverPort, kcmPort] = (await freePorts(4)) as [number, number, number, number];
  const server = `https://127.0.0.1:${apiserverPort}`;

  const started: ManagedProcess[] = [];
  const stopAll = async (): Promise<void> => {
    // Reverse order: controllers first, etcd last, so nothing logs about a missing backend.
    for (const child of [...started].reverse()) await child.stop();
  };
  const logFile = (name: ComponentName): string => join(layout.logDir, `${name}.log`);
  const start = (name: ComponentName, command: string, args: string[]): ManagedProcess => {
    const child = startProcess({ name, command, args, logFile: logFile(name) });
    started.push(child);
    return child;
  };
  // Resolves when a component exits, except one stopped on purpose to restart it.
  const restarted = new Set<ManagedProcess>();
  let reportExit: (reason: string) => void = () => undefined;
  const exited = new Promise<string>((resolve) => (reportExit = resolve));
  const watchExit = (child: ManagedProcess): void => {
    void exitAsError(child).then((err) => {
      if (!restarted.has(child)) reportExit(err.message);
    });
  };

  let current: ComponentName = 'etcd';
  try {
    const etcd = start('etcd', binaries.etcd, etcdArgs(layout, etcdClientPort, etcdPeerPort));
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    await pollUntil('etcd /health', async () => ((await probe(`${etcdUrl}/health`)).status === 200 ? true : undefined), {
      timeoutMs: STARTUP_TIMEOUT_MS.etcd,
      abortWhen: exitAsError(etcd),
    });

    current = 'kube-apiserver';
    const apiserver = start('kube-apiserver', binaries.apiserver, apiserverArgs(layout, etcdUrl, apiserverPort));
    const ca = await pollUntil('kube-apiserver serving certificate', () => Promise.resolve(readServingCa(layout)), {
      timeoutMs: STARTUP_TIMEOUT_MS.apiserver,
      abortWhen: exitAsError(apiserver),
    });
    await pollUntil('kube-apiserver /readyz', async () => expectOk(await probe(`${server}/readyz`, { ca, bearerToken: token })), {
      timeoutMs: STARTUP_TIMEOUT_MS.apiserver,
      abortWhen: exitAsError(apiserver),
    });
    writeKubeconfig(layout.kubeconfigPath, server, ca, token);

    if (options.controllerManager === false) {
      const pids = { etcd: etcd.pid, 'kube-apiserver': apiserver.pid, 'kube-controller-manager': 0 };
      for (const child of started) watchExit(child);
      const restartUnsupported = (): Promise<void> => Promise.reject(new Error('restartApiServer: not supported without the controller manager'));
      return makeCluster({ layout, server, token, pids, exited, stopAll, restartApiServer: restartUnsupported, etcdUrl, apiserverPort });
    }

    current = 'kube-controller-manager';
    const kcm = start('kube-controller-manager', binaries.controllerManager, controllerManagerArgs(layout, kcmPort));
    // The ServiceAccount admission plugin refuses pods until their namespace's
    // `default` ServiceAccount exists; its existence proves the controllers run.
    await pollUntil(
      'the default ServiceAccount in namespace default',
      async () => expectOk(await probe(`${server}/api/v1/namespaces/default/serviceaccounts/default`, { ca, bearerToken: token })),
      { timeoutMs: STARTUP_TIMEOUT_MS.serviceAccount, abortWhen: exitAsError(kcm) },
    );

    const pids = { etcd: etcd.pid, 'kube-apiserver': apiserver.pid, 'kube-controller-manager': kcm.pid };
    for (const child of started) watchExit(child);
    let currentApiserver = apiserver;
    const restartApiServer = async (restartOptions: { readonly downMs?: number } = {}): Promise<void> => {
      const old = currentApiserver;
      restarted.add(old);
      await old.stop();
      if (restartOptions.downMs) await new Promise((resolve) => setTimeout(resolve, restartOptions.downMs));
      const next = startProcess({ name: 'kube-apiserver', command: binaries.apiserver, args: apiserverArgs(layout, etcdUrl, apiserverPort), logFile: logFile('kube-apiserver') });
      // Keep stop()'s reverse start order: the new apiserver takes the old one's place.
      started.splice(started.indexOf(old), 1, next);
      currentApiserver = next;
      pids['kube-apiserver'] = next.pid;
      watchExit(next);
      await pollUntil('restarted kube-apiserver /readyz', async () => expectOk(await probe(`${server}/readyz`, { ca, bearerToken: token })), {
        timeoutMs: STARTUP_TIMEOUT_MS.apiserver,
        abortWhen: exitAsError(next),
      });
    };
    return makeCluster({ layout, server, token, pids, exited, stopAll, restartApiServer, etcdUrl, apiserverPort });
  } catch (err) {
    await stopAll();
    throw new ClusterStartError(startFailureMessage(current, err, logFile(current), layout), { cause: err });
  }
}

function prepareLayout(options: ClusterOptions): Layout {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tsdapr-cluster-'));
  const logDir = options.logDir ?? join(dataDir, 'logs');
  const layout: Layout = {
    dataDir,
    logDir,
    ownsDataDir,
    etcdDataDir: join(dataDir, 'etcd'),
    certDir: join(dataDir, 'apiserver-certs'),
    kcmCertDir: join(dataDir, 'controller-manager-certs'),
    serviceAccountKey: join(dataDir, 'service-account.key'),
    serviceAccountPub: join(dataDir, 'service-account.pub'),
    tokenFile: join(dataDir, 'tokens.csv'),
    kubeconfigPath: join(dataDir, 'admin.kubeconfig'),
  };
  // A data dir from an earlier run would bring back old certificates and etcd data.
  for (const dir of [layout.etcdDataDir, layout.certDir, layout.kcmCertDir]) rmSync(dir, { recursive: true, force: true });
  for (const dir of [dataDir, logDir, layout.certDir, layout.kcmCertDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  return layout;
}

/** The key pair that signs and verifies ServiceAccount tokens, and the admin token. */
function writeCredentials(layout: Layout, token: string): void {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(layout.serviceAccountKey, privateKey, { mode: 0o600 });
  writeFileSync(layout.serviceAccountPub, publicKey, { mode: 0o600 });
  // token,user,uid,"groups"
  writeFileSync(layout.tokenFile, `${token},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, { mode: 0o600 });
}

function etcdArgs(layout: Layout, clientPort: number, peerPort: number): string[] {
  return singleMemberEtcdArgs({ name: 'tsdapr', dataDir: layout.etcdDataDir, clientPort, peerPort });
}

function apiserverArgs(layout: Layout, etcdUrl: string, port: number): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    // The apiserver writes a self-signed CA and serving certificate here.
    `--cert-dir=${layout.certDir}`,
    `--token-auth-file=${layout.tokenFile}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${layout.serviceAccountPub}`,
    `--service-account-signing-key-file=${layout.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--allow-privileged=true',
    // Nothing would serve the `kubernetes` Service's loopback endpoint anyway.
    '--endpoint-reconciler-type=none',
    // logs/exec/port-forward reach a kubelet (node/node.ts) by its node IP even
    // where the hostname does not resolve; no effect without a node.
    '--kubelet-preferred-address-types=InternalIP,Hostname',
    // Two cores: skip what a test cluster does not need.
    '--enable-priority-and-fairness=false',
    '--profiling=false',
  ];
}

function controllerManagerArgs(layout: Layout, port: number): string[] {
  return [
    `--kubeconfig=${layout.kubeconfigPath}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${layout.kcmCertDir}`,
    `--service-account-private-key-file=${layout.serviceAccountKey}`,
    `--root-ca-file=${join(layout.certDir, 'apiserver.crt')}`,
    '--controllers=*',
    '--profiling=false',
  ];
}

/**
 * The apiserver's generated `apiserver.crt` holds the serving certificate
 * followed by the self-signed CA that issued it; the whole bundle is trusted.
 * Returns undefined until the file is complete.
 */
function readServingCa(layout: Layout): string | undefined {
  const path = join(layout.certDir, 'apiserver.crt');
  if (!existsSync(path)) return undefined;
  const pem = readFileSync(path, 'utf8');
  return pem.includes('-----END CERTIFICATE-----') ? pem : undefined;
}



function writeKubeconfig(path: string, server: string, caPem: string, token: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tsdapr', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: ADMIN_USER, user: { token } }],
    contexts: [{ name: 'tsdapr', context: { cluster: 'tsdapr', user: ADMIN_USER, namespace: 'default' } }],
    'current-context': 'tsdapr',
  };
  writeFileSync(path, yaml.dump(config), { mode: 0o600 });
}

interface ClusterParts {
  readonly layout: Layout;
  readonly server: string;
  readonly token: string;
  readonly pids: Record<ComponentName, number>;
  readonly exited: Promise<string>;
  readonly stopAll: () => Promise<void>;
  readonly restartApiServer: (options?: { readonly downMs?: number }) => Promise<void>;
  readonly etcdUrl: string;
  readonly apiserverPort: number;
}

function makeCluster({ layout, server, token, pids, exited, stopAll, restartApiServer, etcdUrl, apiserverPort }: ClusterParts): Cluster {
  let stopping: Promise<void> | undefined;
  const apiserverSetup: ApiServerSetup = {
    etcdUrl,
    port: apiserverPort,
    servingCertPath: join(layout.certDir, 'apiserver.crt'),
    servingKeyPath: join(layout.certDir, 'apiserver.key'),
    tokenFile: layout.tokenFile,
    serviceAccountKeyPath: layout.serviceAccountKey,
    serviceAccountPubPath: layout.serviceAccountPub,
    serviceAccountIssuer: SERVICE_ACCOUNT_ISSUER,
    serviceClusterIpRange: SERVICE_CLUSTER_IP_RANGE,
  };
  return {
    apiserverSetup,
    kubeconfigPath: layout.kubeconfigPath,
    server,
    token,
    dataDir: layout.dataDir,
    logDir: layout.logDir,
    pids,
    exited,
    restartApiServer,
    kubeConfig(): KubeConfig {
      const kc = new KubeConfig();
      kc.loadFromFile(layout.kubeconfigPath);
      return kc;
    },
    stop(): Promise<void> {
      stopping ??= stopAll().then(() => {
        if (layout.ownsDataDir) rmSync(layout.dataDir, { recursive: true, force: true });
      });
      return stopping;
    },
  };
}

function startFailureMessage(component: ComponentName, err: unknown, log: string, layout: Layout): string {
  const reason = err instanceof Error ? err.message : String(err);
  return [
    `cluster did not start: ${component}: ${reason}`,
    `logs: ${layout.logDir} (data: ${layout.dataDir})`,
    `--- last lines of ${log} ---`,
    logTail(log, LOG_TAIL_LINES),
  ].join('\n');
}

