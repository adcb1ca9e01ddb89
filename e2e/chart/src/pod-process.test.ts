import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Container, V1Pod, V1Service } from '@kubernetes/client-node';
import { clusterAddressMap, containerArgv, containerEnv, expandVariables, mountPlan, PodProcessError, resolveTargetPort, rewriteAddresses, rewritePortFlags, runtimeSettings, type LocalPod } from './pod-process.js';

const NS = 'dapr-system';
const API_SERVER = { host: '127.0.0.1', port: 6443 };

function service(name: string, app: string, ports: { port: number; targetPort: number | string }[]): V1Service {
  return { metadata: { name, namespace: NS }, spec: { selector: { app }, ports } };
}

function pod(name: string, app: string, container: V1Container, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return { metadata: { name, namespace: NS, uid: `uid-${name}`, labels: { app } }, spec: { serviceAccountName: `sa-${app}`, containers: [container], ...extra } };
}

const sentryContainer: V1Container = { name: 'dapr-sentry', ports: [{ name: 'grpc', containerPort: 50001 }, { name: 'healthz', containerPort: 8080 }] };
const injectorContainer: V1Container = { name: 'dapr-sidecar-injector', ports: [{ name: 'https', containerPort: 4000 }] };
const sentry: LocalPod = { pod: pod('dapr-sentry-abc', 'dapr-sentry', sentryContainer), container: sentryContainer, ports: new Map([[50001, 41001], [8080, 41002]]) };
const injector: LocalPod = { pod: pod('dapr-sidecar-injector-xyz', 'dapr-sidecar-injector', injectorContainer), container: injectorContainer, ports: new Map([[4000, 42001]]) };

const addresses = clusterAddressMap({
  services: [service('dapr-sentry', 'dapr-sentry', [{ port: 443, targetPort: 50001 }]), service('dapr-sidecar-injector', 'dapr-sidecar-injector', [{ port: 443, targetPort: 'https' }]), service('dapr-nobody', 'dapr-nobody', [{ port: 80, targetPort: 80 }])],
  pods: [sentry, injector],
  clusterDomain: 'cluster.local',
  apiServer: API_SERVER,
});

describe('in-cluster addresses to local ones', () => {
  for (const [address, expected] of [
    ['dapr-sentry.dapr-system.svc.cluster.local:443', '127.0.0.1:41001'],
    ['dapr-sentry.dapr-system.svc:443', '127.0.0.1:41001'],
    ['dapr-sentry.dapr-system:443', '127.0.0.1:41001'],
    ['dapr-sentry:443', '127.0.0.1:41001'],
    ['dapr-sidecar-injector.dapr-system.svc:443', '127.0.0.1:42001'],
    ['kubernetes.default.svc:443', '127.0.0.1:6443'],
  ] as const) {
    test(`${address} → ${expected}`, () => assert.equal(addresses.get(address), expected));
  }

  test('a Service without a local pod has no local address', () => {
    assert.equal(addresses.get('dapr-nobody:80'), undefined);
  });

  test('a named targetPort resolves through the container ports, a number is itself', () => {
    assert.equal(resolveTargetPort(injectorContainer, 'https'), 4000);
    assert.equal(resolveTargetPort(injectorContainer, 4000), 4000);
    assert.equal(resolveTargetPort(injectorContainer, 'metrics'), undefined);
  });

  test('rewrites whole hosts only, the longest name first', () => {
    assert.equal(rewriteAddresses('--sentry-address=dapr-sentry.dapr-system.svc.cluster.local:443', addresses), '--sentry-address=127.0.0.1:41001');
    assert.equal(rewriteAddresses('dns:///dapr-sentry.dapr-system.svc:443', addresses), 'dns:///127.0.0.1:41001');
    assert.equal(rewriteAddresses('other-dapr-sentry:443', addresses), 'other-dapr-sentry:443');
    assert.equal(rewriteAddresses('dapr-sentry:4431', addresses), 'dapr-sentry:4431');
    assert.equal(rewriteAddresses('--log-level=info', addresses), '--log-level=info');
  });
});

describe('a headless Service: each StatefulSet pod by its own name', () => {
  const schedulerContainer: V1Container = { name: 'dapr-scheduler-server', ports: [{ name: 'api', containerPort: 50006 }, { name: 'etcd-peer', containerPort: 2380 }] };
  const replica = (i: number): LocalPod => ({
    pod: pod(`dapr-scheduler-server-${i}`, 'dapr-scheduler-server', schedulerContainer, { hostname: `dapr-scheduler-server-${i}`, subdomain: 'dapr-scheduler-server' }),
    container: schedulerContainer,
    ports: new Map([[50006, 44000 + i], [2380, 45000 + i]]),
  });
  const headless: V1Service = { metadata: { name: 'dapr-scheduler-server', namespace: NS }, spec: { clusterIP: 'None', selector: { app: 'dapr-scheduler-server' }, ports: [{ port: 50006, targetPort: 50006 }, { port: 2380, targetPort: 2380 }] } };
  const map = clusterAddressMap({ services: [headless, service('dapr-scheduler-server-a', 'dapr-scheduler-server', [{ port: 443, targetPort: 50006 }])], pods: [0, 1, 2].map(replica), clusterDomain: 'cluster.local', apiServer: API_SERVER });

  test('every replica under every form of its name, to its own port', () => {
    assert.equal(map.get('dapr-scheduler-server-0.dapr-scheduler-server.dapr-system.svc.cluster.local:2380'), '127.0.0.1:45000');
    assert.equal(map.get('dapr-scheduler-server-2.dapr-scheduler-server.dapr-system.svc.cluster.local:2380'), '127.0.0.1:45002');
    assert.equal(map.get('dapr-scheduler-server-1.dapr-scheduler-server.dapr-system.svc:50006'), '127.0.0.1:44001');
    assert.equal(map.get('dapr-scheduler-server-1.dapr-scheduler-server:2380'), '127.0.0.1:45001');
  });

  test('the Services themselves reach the first replica, as before', () => {
    assert.equal(map.get('dapr-scheduler-server-a.dapr-system.svc.cluster.local:443'), '127.0.0.1:44000');
    assert.equal(map.get('dapr-scheduler-server.dapr-system.svc:2380'), '127.0.0.1:45000');
  });

  test('the etcd initial cluster of the chart becomes the local peer URLs', () => {
    const members = [0, 1, 2].map((i) => `dapr-scheduler-server-${i}=http://dapr-scheduler-server-${i}.dapr-scheduler-server.dapr-system.svc.cluster.local:2380`).join(',');
    assert.equal(
      rewriteAddresses(`--etcd-initial-cluster=${members}`, map),
      '--etcd-initial-cluster=dapr-scheduler-server-0=http://127.0.0.1:45000,dapr-scheduler-server-1=http://127.0.0.1:45001,dapr-scheduler-server-2=http://127.0.0.1:45002',
    );
  });

  test('a pod without the Service as its subdomain has no name under it', () => {
    const other = clusterAddressMap({ services: [headless], pods: [{ ...replica(0), pod: pod('dapr-scheduler-server-0', 'dapr-scheduler-server', schedulerContainer) }], clusterDomain: 'cluster.local', apiServer: API_SERVER });
    assert.equal(other.get('dapr-scheduler-server-0.dapr-scheduler-server.dapr-system.svc:2380'), undefined);
  });
});

describe('container ports to local ones', () => {
  test('only port flags whose value is a container port change', () => {
    assert.deepEqual(
      rewritePortFlags(['--port=50001', '--healthz-port=8080', '--metrics-port=9090', '--replicationFactor=100', '--port', '8080', '--id=50001'], sentry.ports),
      ['--port=41001', '--healthz-port=41002', '--metrics-port=9090', '--replicationFactor=100', '--port', '41002', '--id=50001'],
    );
  });
});

describe('the kubelet’s $(VAR) expansion', () => {
  const vars = new Map([['POD_NAME', 'dapr-placement-server-0']]);
  for (const [input, expected] of [
    ['--id=$(POD_NAME)', '--id=dapr-placement-server-0'],
    ['--id=$(UNKNOWN)', '--id=$(UNKNOWN)'],
    ['--id=$$(POD_NAME)', '--id=$(POD_NAME)'],
    ['cost: $5', 'cost: $5'],
  ] as const) {
    test(`${input} → ${expected}`, () => assert.equal(expandVariables(input, vars), expected));
  }
});

describe('a container as a local process', () => {
  const placementContainer: V1Container = {
    name: 'dapr-placement-server',
    command: ['node', 'packages/placement/dist/main.bundle.mjs'],
    args: ['--id=$(POD_NAME)', '--port=50005', '--sentry-address=dapr-sentry.dapr-system.svc.cluster.local:443', '--trust-anchors-file=/var/run/secrets/dapr.io/tls/ca.crt'],
    env: [
      { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'GREETING', value: 'hello $(POD_NAME)' },
      { name: 'DAPR_SENTRY_ADDRESS', value: 'dapr-sentry.dapr-system.svc.cluster.local:443' },
    ],
    ports: [{ name: 'api', containerPort: 50005 }],
  };
  const placementPod = pod('dapr-placement-server-0', 'dapr-placement-server', placementContainer);
  const env = containerEnv({ pod: placementPod, container: placementContainer, addresses, apiServer: API_SERVER, imageEnv: { NODE_ENV: 'production' } });

  test('env: downward API from the pod, $(VAR) of earlier ones, addresses local, the API server as the kubelet gives it', () => {
    assert.equal(env.get('NAMESPACE'), NS);
    assert.equal(env.get('POD_NAME'), 'dapr-placement-server-0');
    assert.equal(env.get('GREETING'), 'hello dapr-placement-server-0');
    assert.equal(env.get('DAPR_SENTRY_ADDRESS'), '127.0.0.1:41001');
    assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '127.0.0.1');
    assert.equal(env.get('KUBERNETES_SERVICE_PORT'), '6443');
    assert.equal(env.get('NODE_ENV'), 'production');
    assert.equal(env.get('HOSTNAME'), 'dapr-placement-server-0');
  });

  test('argv: the chart’s flags with only addresses and ports changed; mounted paths stay', () => {
    assert.deepEqual(containerArgv({ container: placementContainer, env, addresses, ports: new Map([[50005, 43001]]) }), [
      'node',
      'packages/placement/dist/main.bundle.mjs',
      '--id=dapr-placement-server-0',
      '--port=43001',
      '--sentry-address=127.0.0.1:41001',
      '--trust-anchors-file=/var/run/secrets/dapr.io/tls/ca.crt',
    ]);
  });

  test('status.podIP is the IP the pod was given, and refused before it has one', () => {
    const c: V1Container = { name: 'x', env: [{ name: 'DAPR_HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] };
    const withIp: V1Pod = { ...pod('p', 'x', c), status: { podIP: '127.0.0.1' } };
    assert.equal(containerEnv({ pod: withIp, container: c, addresses, apiServer: API_SERVER }).get('DAPR_HOST_IP'), '127.0.0.1');
    assert.throws(() => containerEnv({ pod: pod('p', 'x', c), container: c, addresses, apiServer: API_SERVER }), (err: unknown) => err instanceof PodProcessError && err.code === 'unsupported_env');
  });

  test('env from a Secret is refused with a message, not passed empty', () => {
    const c: V1Container = { name: 'x', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] };
    assert.throws(() => containerEnv({ pod: pod('p', 'x', c), container: c, addresses, apiServer: API_SERVER }), (err: unknown) => err instanceof PodProcessError && err.code === 'unsupported_env');
  });
});

describe('mounted volumes', () => {
  const c: V1Container = {
    name: 'dapr-operator',
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'dapr-trust-bundle', mountPath: '/var/run/secrets/dapr.io/tls', readOnly: true },
      { name: 'dapr-identity-token', mountPath: '/var/run/secrets/dapr.io/sentrytoken', readOnly: true },
      { name: 'kube-api-access-x1', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ],
  };
  const p = pod('dapr-operator-1', 'dapr-operator', c, {
    volumes: [
      { name: 'tmp', emptyDir: {} },
      { name: 'dapr-trust-bundle', configMap: { name: 'dapr-trust-bundle' } },
      { name: 'dapr-identity-token', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 600, audience: 'spiffe://cluster.local/ns/dapr-system/dapr-sentry' } }] } },
      {
        name: 'kube-api-access-x1',
        projected: {
          sources: [
            { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
    ],
  });

  test('each mount with its sources, as the pod has them (the service-account volume the API server added included)', () => {
    assert.deepEqual(mountPlan(p, c), [
      { volume: 'tmp', mountPath: '/tmp', readOnly: false, sources: [{ kind: 'emptyDir' }] },
      { volume: 'dapr-trust-bundle', mountPath: '/var/run/secrets/dapr.io/tls', readOnly: true, sources: [{ kind: 'configMap', name: 'dapr-trust-bundle' }] },
      {
        volume: 'dapr-identity-token',
        mountPath: '/var/run/secrets/dapr.io/sentrytoken',
        readOnly: true,
        sources: [{ kind: 'serviceAccountToken', path: 'token', audience: 'spiffe://cluster.local/ns/dapr-system/dapr-sentry', expirationSeconds: 600 }],
      },
      {
        volume: 'kube-api-access-x1',
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        readOnly: true,
        sources: [
          { kind: 'serviceAccountToken', path: 'token', audience: undefined, expirationSeconds: 3607 },
          { kind: 'configMap', name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
          { kind: 'downwardAPI', path: 'namespace', value: NS },
        ],
      },
    ]);
  });

  test('a StatefulSet claim is a volume of its own', () => {
    const data: V1Container = { name: 'x', volumeMounts: [{ name: 'data', mountPath: '/var/run/data' }] };
    const claimed = pod('p-0', 'x', data, { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-p-0' } }] });
    assert.deepEqual(mountPlan(claimed, data), [{ volume: 'data', mountPath: '/var/run/data', readOnly: false, sources: [{ kind: 'persistentVolumeClaim', claimName: 'data-p-0' }] }]);
  });

  test('a volume kind that cannot run locally is refused', () => {
    const hostPath: V1Container = { name: 'x', volumeMounts: [{ name: 'host', mountPath: '/host' }] };
    assert.throws(() => mountPlan(pod('p', 'x', hostPath, { volumes: [{ name: 'host', hostPath: { path: '/' } }] }), hostPath), (err: unknown) => err instanceof PodProcessError && err.code === 'unsupported_volume');
  });
});

describe('user and root file system', () => {
  const image = { uid: 65532, gid: 65532 };
  test('the image USER unless the pod or the container says otherwise; the container wins', () => {
    const c: V1Container = { name: 'x', securityContext: { readOnlyRootFilesystem: true, runAsNonRoot: true } };
    assert.deepEqual(runtimeSettings(pod('p', 'x', c, { securityContext: { runAsNonRoot: true } }), c, image), { uid: 65532, gid: 65532, readOnlyRootFilesystem: true });
    assert.deepEqual(runtimeSettings(pod('p', 'x', c, { securityContext: { runAsUser: 1000, runAsGroup: 2000 } }), c, image), { uid: 1000, gid: 2000, readOnlyRootFilesystem: true });
    const own: V1Container = { name: 'x', securityContext: { runAsUser: 7 } };
    assert.deepEqual(runtimeSettings(pod('p', 'x', own, { securityContext: { runAsUser: 1000 } }), own, image), { uid: 7, gid: 65532, readOnlyRootFilesystem: false });
  });

  test('runAsNonRoot with uid 0 is refused, as the kubelet refuses to start it', () => {
    const c: V1Container = { name: 'x', securityContext: { runAsNonRoot: true, runAsUser: 0 } };
    assert.throws(() => runtimeSettings(pod('p', 'x', c), c, image), PodProcessError);
  });
});
