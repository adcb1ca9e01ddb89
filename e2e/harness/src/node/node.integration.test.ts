/**
 * A real node (node.ts) on its own cluster: pods run in containers, logs
 * and exec work, a readiness probe gates a Deployment, Services route through
 * kube-proxy, cluster DNS answers and pods reach the API server; then stop()
 * leaves nothing on the host.
 *
 * Its own cluster, not the shared one: other tests on the shared cluster fake
 * pod status, and a real kubelet would fight them. Skipped, with the reason,
 * only where nodeSupport() says the machine cannot run a node (not root, no
 * cgroups, packages or binaries missing).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { binaryPath } from '../binaries.js';
import { startCluster, type Cluster } from '../cluster.js';
import { pollUntil } from '../http-probe.js';
import { buildImages } from '../images.js';
import { createTestNamespace, type TestNamespace } from '../test-env.js';
import { POD_NETWORK, bridgeExists, leftoverChains, mountsUnder, processesMentioning } from './host-network.js';
import { startNode, type Node } from './node.js';
import { NODE_LOCK_PATH, readNodeLock } from './node-lock.js';
import { nodeSupport } from './node-support.js';

const support = nodeSupport();
const WAIT = { timeoutMs: 90_000, intervalMs: 300 };
const run = promisify(execFile);

/** A tiny HTTP server for the node-base image: /healthz for the readiness probe, the path echoed otherwise. */
const SERVER_JS = `require('http').createServer((q, s) => s.end(q.url === '/healthz' ? 'ok' : 'hello ' + q.url)).listen(8080)`;
/** From inside a pod: GET https://kubernetes.default.svc/version with the pod's own ServiceAccount token and CA. */
const API_FROM_POD_JS = `const fs = require('fs'), d = '/var/run/secrets/kubernetes.io/serviceaccount';
require('https').get({ host: 'kubernetes.default.svc', path: '/version', ca: fs.readFileSync(d + '/ca.crt'),
  headers: { authorization: 'Bearer ' + fs.readFileSync(d + '/token', 'utf8') } },
  (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => { console.log(r.statusCode, JSON.parse(b).gitVersion); process.exit(r.statusCode === 200 ? 0 : 1); }); })
  .on('error', (e) => { console.log(e.message); process.exit(1); });`;

void describe('a real node (containerd + kubelet + kube-proxy + CoreDNS)', { skip: support.ok ? false : support.reason, timeout: 25 * 60_000 }, () => {
  let cluster: Cluster;
  let node: Node;
  let kc: KubeConfig;
  let ns: TestNamespace;
  let images: { busybox: string; nodeBase: string };
  let kubectl: string;

  const exec = async (pod: string, command: readonly string[]): Promise<string> => {
    const { stdout } = await run(kubectl, ['--kubeconfig', node.kubeconfigPath, '-n', ns.name, 'exec', pod, '--', ...command], { timeout: 30_000 });
    return stdout;
  };

  /** A one-container pod of a local image, once it is Running. */
  const runPod = async (name: string, image: string, command: readonly string[]): Promise<void> => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: ns.name,
      body: { metadata: { name }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image, imagePullPolicy: 'Never', command: [...command] }] } },
    });
    await pollUntil(`pod ${name} Running`, async () => ((await core.readNamespacedPod({ name, namespace: ns.name })).status?.phase === 'Running' ? true : undefined), WAIT);
  };

  before(async () => {
    kubectl = binaryPath('kubectl');
    const built = await buildImages(['pause', 'busybox', 'node-base']);
    const ref = (name: string): string => built.find((image) => image.name === name)!.ref;
    images = { busybox: ref('busybox'), nodeBase: ref('node-base') };
    cluster = await startCluster();
    const startedAt = Date.now();
    // Another test file's node may be running (files run two at a time): wait for it.
    node = await startNode(cluster, { sandboxImage: ref('pause'), images: built.map((image) => image.archive), lockWaitMs: 15 * 60_000 });
    console.log(`node ${node.name} (${node.ip}) Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
    kc = cluster.kubeConfig();
    ns = await createTestNamespace('node', { kubeConfig: kc });
  }, { timeout: 20 * 60_000 });
  after(async () => {
    await node?.stop();
    await cluster?.stop();
  });

  void test('a busybox pod runs, and its logs and exec work', { timeout: 120_000 }, async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await runPod('bb', images.busybox, ['sh', '-c', 'echo hello from busybox; exec sleep 3600']);
    const logs = await pollUntil('the logs of bb', async () => (await core.readNamespacedPodLog({ name: 'bb', namespace: ns.name })) || undefined, WAIT);
    assert.equal(logs.trim(), 'hello from busybox');
    assert.equal((await exec('bb', ['sh', '-c', 'echo exec-ok'])).trim(), 'exec-ok');
  });

  void test('a Deployment behind an httpGet readiness probe becomes available, and its ClusterIP and DNS name answer from a pod', { timeout: 180_000 }, async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'web',
                  image: images.nodeBase,
                  imagePullPolicy: 'Never',
                  command: ['node', '-e', SERVER_JS],
                  ports: [{ containerPort: 8080, name: 'http' }],
                  readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    const service = await core.createNamespacedService({
      namespace: ns.name,
      body: { metadata: { name: 'web' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 'http' }] } },
    });
    await pollUntil(
      'Deployment web available with 2 replicas',
      async () => ((await apps.readNamespacedDeployment({ name: 'web', namespace: ns.name })).status?.availableReplicas === 2 ? true : undefined),
      WAIT,
    );
    const clusterIp = service.spec!.clusterIP!;
    // kube-proxy programs the Service's rules within a sync period of its endpoints appearing.
    const viaIp = await pollUntil('the ClusterIP from pod bb', async () => (await exec('bb', ['wget', '-qO-', `http://${clusterIp}/clusterip`])) || undefined, WAIT);
    assert.equal(viaIp, 'hello /clusterip');
    const lookup = await exec('bb', ['nslookup', `web.${ns.name}.svc.cluster.local`]);
    assert.match(lookup, new RegExp(`Address:\\s+${clusterIp.replaceAll('.', '\\.')}\\b`));
    assert.equal(await exec('bb', ['wget', '-qO-', 'http://web/by-name']), 'hello /by-name');
  });

  void test('a pod reaches the API server through kubernetes.default.svc', { timeout: 120_000 }, async () => {
    await runPod('api', images.nodeBase, ['node', '-e', 'setInterval(() => {}, 1 << 30)']);
    assert.match(await exec('api', ['node', '-e', API_FROM_POD_JS]), /^200 v1\.34\./);
  });

  void test('stop() leaves no process, mount, bridge, iptables chain or lock behind', { timeout: 180_000 }, async () => {
    const { stateDir, pids } = node;
    const lock = readNodeLock();
    assert.ok(lock, `${NODE_LOCK_PATH} names the running node`);
    const startedAt = Date.now();
    await node.stop();
    console.log(`node stopped in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
    assert.deepEqual(Object.entries(pids).filter(([, pid]) => existsSync(`/proc/${pid}`)), []);
    assert.deepEqual(processesMentioning(`${stateDir}/`), []);
    assert.deepEqual(mountsUnder(stateDir), []);
    assert.equal(bridgeExists(), false);
    assert.deepEqual(await leftoverChains(), []);
    assert.equal(existsSync(stateDir), false);
    // The pods' network namespaces went with a CNI DEL each, which also drops libcni's cache entry.
    const cniCache = '/var/lib/cni/results';
    assert.deepEqual(existsSync(cniCache) ? readdirSync(cniCache).filter((file) => file.startsWith(`${POD_NETWORK.name}-`)) : [], []);
    assert.equal(existsSync(NODE_LOCK_PATH), false);
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), lock.ipForward, 'ip_forward is back to its value before the node');
  });
});
