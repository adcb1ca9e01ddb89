#!/usr/bin/env node
/**
 * `bash scripts/dev.sh start` on a machine that can run a node: what a user
 * does, end to end. A local cluster with a real node (kubelet + containerd),
 * the images built here, `helm install` of the chart into dapr-system, the
 * sample apps of samples/apps deployed with their sidecars. Prints how to
 * call them; Ctrl-C stops everything and leaves nothing on the host.
 * Where the machine cannot run a node (not root, no cgroups), it says why in
 * one line and runs `pnpm start` instead: the control plane as processes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { binaryPath, nodeSupport, repoRoot } from '@tsdapr/e2e-harness';
import { applyManifest, CONTROL_PLANE_NAMESPACE, installChart, nodeValues, sampleManifest, startNodeCluster, waitForWorkloads } from './node-install.js';

const APPS_NAMESPACE = 'default';

async function main(): Promise<void> {
  const support = nodeSupport();
  if (!support.ok) {
    console.log(`no node on this machine (${support.reason}): starting the control plane as processes instead (pods stay Pending)`);
    const child = spawn(process.execPath, [join(repoRoot(), 'e2e', 'harness', 'dist', 'local-control-plane.js')], { stdio: 'inherit' });
    process.exitCode = await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    return;
  }
  console.log('building the images and starting a cluster with a node (kubelet + containerd) ...');
  const env = await startNodeCluster({ dataDir: join(repoRoot(), '.tsdapr', 'start') });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= env.stop());
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  try {
    console.log(`helm install tsdapr into ${CONTROL_PLANE_NAMESPACE} ...`);
    await installChart(env.cluster, nodeValues());
    await waitForWorkloads(env.kc, CONTROL_PLANE_NAMESPACE);
    console.log('deploying the sample apps orders and checkout ...');
    await applyManifest(env.kc, sampleManifest('components.yaml'), APPS_NAMESPACE);
    await applyManifest(env.kc, sampleManifest('apps.yaml'), APPS_NAMESPACE);
    await waitForWorkloads(env.kc, APPS_NAMESPACE);
  } catch (err) {
    await stop();
    throw err;
  }
  const pods = (await env.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: APPS_NAMESPACE })).items;
  const ip = (app: string): string => pods.find((pod) => pod.metadata?.labels?.['app'] === app)?.status?.podIP ?? '<pod IP>';
  const k = `${binaryPath('kubectl')} --kubeconfig ${env.cluster.kubeconfigPath}`;
  console.log(`
tsdapr runs in pods on a local node; the sample apps have their daprd sidecars.

  kubeconfig   ${env.cluster.kubeconfigPath}
  pods         ${k} get pods -A
  status       node packages/status/dist/main.js --kubeconfig ${env.cluster.kubeconfigPath} -n ${CONTROL_PLANE_NAMESPACE}
  logs         ${k} -n ${APPS_NAMESPACE} logs deploy/orders -c daprd

Call the apps (pod IPs are reachable from this host):
  curl -X POST http://${ip('checkout')}:3000/call/orders/hello          # service invocation
  curl -X PUT  http://${ip('orders')}:3000/state/k1 -d hello; curl http://${ip('orders')}:3000/state/k1
  curl -X POST http://${ip('orders')}:3000/publish/orders -d hi; curl http://${ip('orders')}:3000/received
  curl -X POST http://${ip('checkout')}:3000/actor/Counter/c1/increment  # actors (placement)
  curl -X POST http://${ip('orders')}:3000/job/schedule/j1; curl http://${ip('orders')}:3000/jobs   # jobs (scheduler)

Ctrl-C stops everything.`);
  const reason = await env.cluster.exited;
  if (stopping) return;
  console.error(`stopping: ${reason}`);
  await stop();
  process.exitCode = 1;
}

await main();
