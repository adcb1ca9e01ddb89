/**
 * The configuration files of a node's components, as pure functions of its
 * layout (node.ts writes them). The settings follow the verified recipe in
 * the project's real-node notes; the comments say why a setting is there.
 */
import yaml from 'js-yaml';
import { POD_NETWORK } from './host-network.js';
import { CNI_BIN_DIR } from './node-support.js';

export interface ContainerdPaths {
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  readonly cniConfDir: string;
}

/** TOML basic strings take JSON's escapes. */
const q = (value: string): string => JSON.stringify(value);

/**
 * containerd with the CRI plugin on its own root, state and socket, so it
 * never meets a system containerd. `majorVersion`: Debian's 1.6 reads
 * config version 2; a containerd 2.x reads version 3.
 */
export function containerdConfig(paths: ContainerdPaths, sandboxImage: string, majorVersion: number): string {
  return majorVersion >= 2 ? containerdConfigV3(paths, sandboxImage) : containerdConfigV2(paths, sandboxImage);
}

function containerdConfigV2(paths: ContainerdPaths, sandboxImage: string): string {
  return `version = 2
root = ${q(paths.root)}
state = ${q(paths.state)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = ${q(paths.socket)}
[ttrpc]
  address = ${q(`${paths.socket}.ttrpc`)}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(sandboxImage)}
  stream_server_address = "127.0.0.1"
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  # Without CAP_SYS_RESOURCE (a Firecracker VM's bounding set lacks it) runc
  # cannot lower oom_score_adj to the kubelet's -998 for sandboxes, and every
  # pod fails with "can't get final child's PID from pipe". This clamps to containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(CNI_BIN_DIR)}
    conf_dir = ${q(paths.cniConfDir)}
    max_conf_num = 1
`;
}

function containerdConfigV3(paths: ContainerdPaths, sandboxImage: string): string {
  return `version = 3
root = ${q(paths.root)}
state = ${q(paths.state)}
[grpc]
  address = ${q(paths.socket)}
[ttrpc]
  address = ${q(`${paths.socket}.ttrpc`)}
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = ${q(sandboxImage)}
[plugins.'io.containerd.cri.v1.runtime']
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  # See the version 2 config: no CAP_SYS_RESOURCE here.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [${q(CNI_BIN_DIR)}]
    conf_dir = ${q(paths.cniConfDir)}
    max_conf_num = 1
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = '127.0.0.1'
`;
}

/** bridge (gateway, masquerade, hairpin for a pod calling its own Service), then portmap and loopback. */
export function cniConflist(ipamDataDir: string): string {
  const { name, bridge, cidr, gateway } = POD_NETWORK;
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: cidr, gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDataDir },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  )}\n`;
}

export interface KubeletConfigInput {
  readonly containerdSocket: string;
  readonly podLogsDir: string;
  readonly port: number;
  readonly healthzPort: number;
}

export function kubeletConfig(input: KubeletConfigInput): string {
  return yaml.dump({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // cgroup v1 hosts (this kind of VM) are in maintenance mode but work.
    failCgroupV1: false,
    failSwapOn: false,
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: true,
    containerRuntimeEndpoint: `unix://${input.containerdSocket}`,
    address: '0.0.0.0',
    port: input.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: input.healthzPort,
    // The API servers do not verify the kubelet's self-signed cert; logs and exec need no more.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    clusterDomain: 'cluster.local',
    clusterDNS: [POD_NETWORK.gateway],
    podLogsDir: input.podLogsDir,
    // Images are imported, never pulled (imagePullPolicy: Never): one collected cannot come back.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // A test machine's disk is often fuller than the defaults allow.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '2%', 'imagefs.available': '2%', 'nodefs.inodesFree': '1%' },
  });
}

export interface KubeProxyConfigInput {
  readonly kubeconfigPath: string;
  readonly nodeName: string;
  readonly healthzPort: number;
  readonly metricsPort: number;
}

export function kubeProxyConfig(input: KubeProxyConfigInput): string {
  return yaml.dump({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: input.kubeconfigPath },
    hostnameOverride: input.nodeName,
    clusterCIDR: POD_NETWORK.cidr,
    healthzBindAddress: `127.0.0.1:${input.healthzPort}`,
    metricsBindAddress: `127.0.0.1:${input.metricsPort}`,
    nodePortAddresses: ['primary'],
    // true would set net.ipv4.conf.all.route_localnet on the host.
    iptables: { localhostNodePorts: false },
    // Zeros: leave the host's conntrack sysctls alone (the defaults rewrite nf_conntrack_max and the TCP timeouts).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}

/** CoreDNS as a host process on the bridge gateway, the address the kubelet gives pods as their resolver. */
export function corefile(adminKubeconfig: string, readyPort: number): string {
  return `.:53 {
    bind ${POD_NETWORK.gateway}
    errors
    ready 127.0.0.1:${readyPort}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${adminKubeconfig} tsdapr
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    forward . /etc/resolv.conf
    cache 5
}
`;
}

/**
 * The kubelet's kubeconfig: the node identity, against the node-facing API
 * server. The serving cert has no SAN for the node IP, hence tls-server-name.
 */
export function nodeKubeconfig(server: string, caPem: string, token: string): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tsdapr', cluster: { server, 'tls-server-name': 'kubernetes', 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'node', user: { token } }],
    contexts: [{ name: 'node', context: { cluster: 'tsdapr', user: 'node' } }],
    'current-context': 'node',
  });
}
