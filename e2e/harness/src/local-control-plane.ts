#!/usr/bin/env node
/**
 * `pnpm start`: a local Kubernetes API and every tsdapr service that exists,
 * run as processes against it exactly as they would run in pods of the
 * control-plane namespace. Ctrl-C stops everything.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { repoRoot } from './binaries.js';
import { startCluster } from './cluster.js';
import { pollUntil, probe } from './http-probe.js';
import { startProcess, type ManagedProcess } from './managed-process.js';

const CONTROL_PLANE_NAMESPACE = 'dapr-system';
const TRUST_DOMAIN = 'cluster.local';

interface ServiceContext {
  readonly kubeconfig: string;
  readonly anchorsFile: string;
  /** A projected-token stand-in: a TokenRequest bound to the service's pod object. */
  readonly tokenFile: string;
}

interface ServiceSpec {
  readonly name: string;
  readonly main: string;
  /** Set for services that get an SVID from sentry: they run as a pod of this control-plane name. */
  readonly controlPlaneName?: 'placement' | 'operator' | 'injector';
  readonly args: (context: ServiceContext) => string[];
  readonly healthzPort: number;
  readonly summary: string;
}

/** Each service with distinct ports: upstream's defaults collide on one host. */
const SERVICES: readonly ServiceSpec[] = [
  {
    name: 'sentry',
    main: 'packages/sentry/dist/main.js',
    args: ({ kubeconfig }) => ['--mode', 'kubernetes', '--kubeconfig', kubeconfig, '--trust-domain', TRUST_DOMAIN, '--port', '50001', '--healthz-port', '8080', '--metrics-port', '9090'],
    healthzPort: 8080,
    summary: 'gRPC 127.0.0.1:50001, health :8080, metrics :9090',
  },
  {
    name: 'placement',
    main: 'packages/placement/dist/main.js',
    controlPlaneName: 'placement',
    args: ({ kubeconfig, anchorsFile, tokenFile }) => [
      '--mode', 'kubernetes', '--kubeconfig', kubeconfig, '--tls-enabled', '--trust-domain', TRUST_DOMAIN,
      '--trust-anchors-file', anchorsFile, '--sentry-address', '127.0.0.1:50001', '--sentry-token-file', tokenFile,
      '--port', '50005', '--healthz-port', '8082', '--metrics-port', '9092',
    ],
    healthzPort: 8082,
    summary: 'gRPC 127.0.0.1:50005 (mTLS, SVID from sentry), health :8082, metrics :9092',
  },
];

/**
 * What the kubelet does for a control-plane pod: a pod object with the
 * `dapr.io/control-plane` annotation and a token bound to it, with the
 * sentry SPIFFE ID as audience, written where the service reads it.
 */
async function controlPlaneToken(kubeConfig: KubeConfig, name: 'placement' | 'operator' | 'injector', tokenFile: string): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const serviceAccount = `dapr-${name}`;
  await core.createNamespacedServiceAccount({ namespace: CONTROL_PLANE_NAMESPACE, body: { metadata: { name: serviceAccount } } }).catch(ignoreConflict);
  const podName = `dapr-${name}-local`;
  const pod = await core
    .createNamespacedPod({
      namespace: CONTROL_PLANE_NAMESPACE,
      body: {
        metadata: { name: podName, annotations: { 'dapr.io/control-plane': name }, labels: { app: `dapr-${name}` } },
        spec: { serviceAccountName: serviceAccount, containers: [{ name, image: 'tsdapr:local' }] },
      },
    })
    .catch(async (err: unknown) => {
      ignoreConflict(err);
      return core.readNamespacedPod({ namespace: CONTROL_PLANE_NAMESPACE, name: podName });
    });
  const request = await core.createNamespacedServiceAccountToken({
    namespace: CONTROL_PLANE_NAMESPACE,
    name: serviceAccount,
    body: {
      spec: {
        audiences: [`spiffe://${TRUST_DOMAIN}/ns/${CONTROL_PLANE_NAMESPACE}/dapr-sentry`],
        expirationSeconds: 86_400,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: podName, uid: pod.metadata?.uid ?? '' },
      },
    },
  });
  writeFileSync(tokenFile, request.status?.token ?? '', { mode: 0o600 });
}

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}

async function ensureNamespace(kubeConfig: KubeConfig, name: string): Promise<void> {
  await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } }).catch(ignoreConflict);
}

async function main(): Promise<void> {
  const root = repoRoot();
  const stateDir = join(root, '.tsdapr', 'local');
  mkdirSync(stateDir, { recursive: true });
  console.log('starting etcd, kube-apiserver and kube-controller-manager ...');
  const cluster = await startCluster({ logDir: join(stateDir, 'logs') });
  const kubeConfig = cluster.kubeConfig();
  await ensureNamespace(kubeConfig, CONTROL_PLANE_NAMESPACE);

  const running: ManagedProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(running.map((service) => service.stop(10_000)));
    await cluster.stop();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  const anchorsPath = join(stateDir, 'ca.crt');
  const started: ServiceSpec[] = [];
  for (const service of SERVICES) {
    const main = join(root, service.main);
    if (!existsSync(main)) continue;
    const tokenFile = join(stateDir, `${service.name}.token`);
    if (service.controlPlaneName) await controlPlaneToken(kubeConfig, service.controlPlaneName, tokenFile);
    const child = startProcess({
      name: service.name,
      command: process.execPath,
      args: [main, ...service.args({ kubeconfig: cluster.kubeconfigPath, anchorsFile: anchorsPath, tokenFile })],
      env: { ...(process.env as Record<string, string>), NAMESPACE: CONTROL_PLANE_NAMESPACE },
      logFile: join(stateDir, 'logs', `${service.name}.log`),
    });
    running.push(child);
    await pollUntil(`${service.name} /readyz`, async () => {
      if (child.hasExited()) throw new Error(`${service.name} exited; see ${join(stateDir, 'logs', `${service.name}.log`)}`);
      const response = await probe(`http://127.0.0.1:${service.healthzPort}/readyz`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    }, { timeoutMs: 60_000 });
    started.push(service);
    if (service.name === 'sentry') {
      // The ConfigMap mounted at /var/run/secrets/dapr.io/tls in a pod.
      const configMap = await kubeConfig.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: CONTROL_PLANE_NAMESPACE, name: 'dapr-trust-bundle' });
      writeFileSync(anchorsPath, configMap.data?.['ca.crt'] ?? '');
    }
  }
  const anchors = existsSync(anchorsPath);
  const k = `kubectl --kubeconfig ${cluster.kubeconfigPath}`;
  console.log(`
tsdapr is running against a local Kubernetes API.

  kubeconfig   ${cluster.kubeconfigPath}
  try          ${k} get ns
  logs         ${join(stateDir, 'logs')}
${started.map((service) => `  ${service.name.padEnd(12)} ${service.summary}`).join('\n')}
${anchors ? `  anchors      ${anchorsPath}  (ConfigMap ${CONTROL_PLANE_NAMESPACE}/dapr-trust-bundle)` : ''}

Ask sentry for a workload certificate as a pod would:
  ${k} run demo --image=example.invalid/app --annotations=dapr.io/app-id=demo
  ${k} create token default --audience dapr.io/sentry --bound-object-kind Pod --bound-object-name demo > .tsdapr/local/token
  node packages/sentry/dist/cli/request-certificate.js --sentry-address 127.0.0.1:50001 \\
    --trust-anchors-file ${anchorsPath} --control-plane-trust-domain ${TRUST_DOMAIN} --control-plane-namespace ${CONTROL_PLANE_NAMESPACE} \\
    --app-id demo --namespace default --validator KUBERNETES --token-file .tsdapr/local/token --out .tsdapr/local/demo

Ctrl-C stops everything.`);
  const reason = await Promise.race([cluster.exited, ...running.map(async (service) => `${service.name} exited (${JSON.stringify(await service.exited)})`)]);
  console.error(`stopping: ${reason}`);
  await stopAll();
  process.exitCode = 1;
}

await main();
