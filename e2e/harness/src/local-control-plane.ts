#!/usr/bin/env node
/**
 * `pnpm start`: a local Kubernetes API and the whole tsdapr control plane
 * (sentry, operator, placement, scheduler, injector) run as processes against it,
 * exactly as the chart runs them as pods in `dapr-system`. Ctrl-C stops
 * everything.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { repoRoot } from './binaries.js';
import { startCluster } from './cluster.js';
import { startKubernetesControlPlane, TRUST_DOMAIN } from './kubernetes-control-plane.js';

const CONTROL_PLANE_NAMESPACE = 'dapr-system';

async function main(): Promise<void> {
  const stateDir = join(repoRoot(), '.tsdapr', 'local');
  mkdirSync(stateDir, { recursive: true });
  console.log('starting etcd, kube-apiserver and kube-controller-manager ...');
  const cluster = await startCluster({ logDir: join(stateDir, 'logs') });
  const kubeConfig = cluster.kubeConfig();
  await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: CONTROL_PLANE_NAMESPACE } } });
  console.log('starting sentry, operator, placement, scheduler (with its embedded etcd) and injector ...');
  const controlPlane = await startKubernetesControlPlane({
    kubeconfigPath: cluster.kubeconfigPath,
    kubeConfig,
    namespace: CONTROL_PLANE_NAMESPACE,
    // Every namespace but the system ones, with the chart's failure policy.
    webhookNamespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [CONTROL_PLANE_NAMESPACE, 'kube-system', 'kube-public'] }] },
    webhookFailurePolicy: 'Ignore',
    webhookConfigurationName: 'dapr-sidecar-injector',
    operatorWebhooksByUrl: true,
    logDir: join(stateDir, 'logs'),
  }).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });

  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await controlPlane.stop();
    await cluster.stop();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  const anchorsPath = join(stateDir, 'ca.crt');
  writeFileSync(anchorsPath, controlPlane.trustAnchorsPem);
  const k = `kubectl --kubeconfig ${cluster.kubeconfigPath}`;
  console.log(`
tsdapr is running against a local Kubernetes API (no kubelet: pods stay Pending).

  kubeconfig   ${cluster.kubeconfigPath}
  try          ${k} get ns
  logs         ${join(stateDir, 'logs')}
  sentry       127.0.0.1:${controlPlane.sentryPort}  (trust bundle: Secret and ConfigMap ${CONTROL_PLANE_NAMESPACE}/dapr-trust-bundle)
  operator     127.0.0.1:${controlPlane.operatorApiPort}  (mTLS; CRDs from crds/ applied)
  placement    127.0.0.1:${controlPlane.placementPort}  (mTLS; members: curl -s http://127.0.0.1:${controlPlane.placementHealthzPort}/placement/state)
  scheduler    127.0.0.1:${controlPlane.schedulerPort}  (mTLS; jobs, reminders and workflows in its embedded etcd; ready: curl -s http://127.0.0.1:${controlPlane.schedulerHealthzPort}/readyz)
  injector     https://127.0.0.1:${controlPlane.injectorPort}/mutate  (MutatingWebhookConfiguration dapr-sidecar-injector)
  anchors      ${anchorsPath}

Give a Deployment its daprd sidecar:
  ${k} create deployment orders --image=example.invalid/orders
  ${k} patch deployment orders --type merge -p '{"spec":{"template":{"metadata":{"annotations":{"dapr.io/enabled":"true","dapr.io/app-id":"orders"}}}}}'
  ${k} get pods -l app=orders -o jsonpath='{.items[*].spec.containers[*].name}'   # orders daprd

Apply a Component; the API server checks it (its schema and the operator's webhook) and the operator writes its status:
  ${k} apply -f samples/statestore.yaml
  ${k} get components     # NAME TYPE VERSION SCOPES VALID APPS AGE
  ${k} apply -f samples/invalid-component.yaml   # admitted as upstream does, with a warning naming the entry daprd uses

Ask sentry for a workload certificate as a pod would:
  ${k} run demo --image=example.invalid/app --annotations=dapr.io/app-id=demo
  ${k} create token default --audience dapr.io/sentry --bound-object-kind Pod --bound-object-name demo > .tsdapr/local/token
  node packages/sentry/dist/cli/request-certificate.js --sentry-address 127.0.0.1:${controlPlane.sentryPort} \\
    --trust-anchors-file ${anchorsPath} --control-plane-trust-domain ${TRUST_DOMAIN} --control-plane-namespace ${CONTROL_PLANE_NAMESPACE} \\
    --app-id demo --namespace default --validator KUBERNETES --token-file .tsdapr/local/token --out .tsdapr/local/demo

Ctrl-C stops everything.`);
  const reason = await Promise.race([cluster.exited, ...controlPlane.services.map(async (service) => `${service.name} exited (${JSON.stringify(await service.process.exited)})`)]);
  if (stopping) return;
  console.error(`stopping: ${reason}\n${controlPlane.logs()}`);
  await stopAll();
  process.exitCode = 1;
}

await main();
