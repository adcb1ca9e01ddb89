export { binaryPath, repoRoot, MissingBinaryError, type BinaryName } from './binaries.js';
export { startCluster, ClusterStartError, type ApiServerSetup, type Cluster, type ClusterOptions, type ComponentName } from './cluster.js';
export { startDaprd, daprdVersion, type Daprd, type DaprdOptions } from './daprd.js';
export { freePort, freePorts } from './free-port.js';
export { startEtcd, singleMemberEtcdArgs, type Etcd, type EtcdOptions } from './etcd.js';
export { pollUntil, probe, expectOk, type PollOptions, type ProbeOptions, type ProbeResponse } from './http-probe.js';
export { startProcess, describeExit, exitAsError, type ManagedProcess, type ProcessOptions, type ExitStatus } from './managed-process.js';
export {
  TEST_KUBECONFIG_ENV,
  NoTestClusterError,
  requireTestCluster,
  testKubeConfig,
  createTestNamespace,
  type TestNamespace,
  type TestNamespaceOptions,
} from './test-env.js';
export { startServiceProcess, controlPlaneToken, applyCrds, CHART_NODE_OPTIONS, type ServiceName, type ServiceProcess } from './control-plane-fixtures.js';
export { startKubernetesControlPlane, SIDECAR_IMAGE, TRUST_DOMAIN, type KubernetesControlPlane, type KubernetesControlPlaneOptions } from './kubernetes-control-plane.js';
export { startNode, cleanupStaleNode, NodeStartError, type Node, type NodeOptions, type NodeComponent } from './node/node.js';
export { nodeSupport, type NodeSupport } from './node/node-support.js';
export { NodeLockedError, NODE_LOCK_PATH } from './node/node-lock.js';
export { POD_NETWORK } from './node/host-network.js';
export { buildImages } from './images.js';
export { IMAGES, ImageBuildError, type ImageName, type BuiltImage, type BuildImagesOptions } from './images.js';
