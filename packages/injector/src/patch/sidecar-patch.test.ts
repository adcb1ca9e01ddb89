import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  daprEnabled,
  ownedBy,
  pod,
  withAnnotation,
  withAnnotations,
  withContainers,
  withGenerateName,
  withInitContainers,
  withLabel,
  withTolerations,
  withVolumes,
} from '../testing/pod-fixtures.js';
import { defaultInjectorSettings, type InjectorSettings } from './injector-settings.js';
import { applyJsonPatch } from './json-patch.js';
import type { Container, Pod } from './pod-types.js';
import { buildSidecarPatch, type SidecarPatchResult } from './sidecar-patch.js';

const ANCHORS = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const SETTINGS = defaultInjectorSettings({ trustAnchorsPem: ANCHORS, sidecarImage: 'ghcr.io/dapr/daprd:1.17.5' });
/** An injector whose SIDECAR_IMAGE is daprd 1.18. */
const NEXT = defaultInjectorSettings({ trustAnchorsPem: ANCHORS, sidecarImage: 'ghcr.io/dapr/daprd:1.18.1' });
const IMAGE_18: [string, string] = ['dapr.io/sidecar-image', 'ghcr.io/dapr/daprd:1.18.1'];

function patched(input: Pod, settings: InjectorSettings = SETTINGS): Extract<SidecarPatchResult, { kind: 'patch' }> {
  const result = buildSidecarPatch({ pod: input, namespace: 'shop', settings });
  assert.equal(result.kind, 'patch', result.kind === 'deny' ? result.message : `skipped: ${result.kind === 'skip' ? result.reason : ''}`);
  return result;
}

/** The pod after the patch, as the API server would store it. */
function injectedPod(input: Pod, settings: InjectorSettings = SETTINGS): Pod {
  return applyJsonPatch(input, patched(input, settings).patch);
}

function daprd(input: Pod, settings: InjectorSettings = SETTINGS): Container {
  const after = injectedPod(input, settings);
  const found = [...(after.spec?.containers ?? []), ...(after.spec?.initContainers ?? [])].find((c) => c.name === 'daprd');
  assert.ok(found, 'no daprd container');
  return found;
}

/** The value following `flag` in the args, true for a flag without value, undefined when absent. */
function flag(container: Container, name: string): string | true | undefined {
  const args = container.args ?? [];
  const exact = args.indexOf(name);
  if (exact >= 0) {
    const next = args[exact + 1];
    return next === undefined || next.startsWith('--') ? true : next;
  }
  const withValue = args.find((arg) => arg.startsWith(`${name}=`));
  return withValue?.slice(name.length + 1);
}

const DEFAULT_ARGS = [
  '/daprd',
  '--dapr-http-port', '3500',
  '--dapr-grpc-port', '50001',
  '--dapr-internal-grpc-port', '50002',
  '--dapr-listen-addresses', '[::1],127.0.0.1',
  '--dapr-public-port', '3501',
  '--app-id', 'myapp',
  '--app-protocol', 'http',
  '--log-level', 'info',
  '--dapr-graceful-shutdown-seconds', '-1',
  '--mode', 'kubernetes',
  '--control-plane-address', 'dapr-api.dapr-system.svc.cluster.local:443',
  '--sentry-address', 'dapr-sentry.dapr-system.svc.cluster.local:443',
  '--enable-metrics',
  '--metrics-port', '9090',
  '--placement-host-address', 'dapr-placement-server.dapr-system.svc.cluster.local:50005',
  '--enable-mtls',
  '--scheduler-host-address', 'dapr-scheduler-server-a.dapr-system.svc.cluster.local:443',
];

const DEFAULT_CONTAINER: Container = {
  name: 'daprd',
  image: 'ghcr.io/dapr/daprd:1.17.5',
  args: DEFAULT_ARGS,
  ports: [
    { name: 'dapr-http', containerPort: 3500 },
    { name: 'dapr-grpc', containerPort: 50001 },
    { name: 'dapr-internal', containerPort: 50002 },
    { name: 'dapr-metrics', containerPort: 9090 },
  ],
  env: [
    { name: 'NAMESPACE', value: 'shop' },
    { name: 'DAPR_TRUST_ANCHORS', value: ANCHORS },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'DAPR_CONTROLPLANE_NAMESPACE', value: 'dapr-system' },
    { name: 'DAPR_CONTROLPLANE_TRUST_DOMAIN', value: 'cluster.local' },
  ],
  resources: {},
  volumeMounts: [{ name: 'dapr-identity-token', readOnly: true, mountPath: '/var/run/secrets/dapr.io/sentrytoken' }],
  // daprd 1.17's probe defaults (upstream's 1.17 injector).
  livenessProbe: { tcpSocket: { port: 3501 }, initialDelaySeconds: 3, timeoutSeconds: 3, periodSeconds: 6, failureThreshold: 3 },
  readinessProbe: { httpGet: { path: '/v1.0/healthz', port: 3501 }, initialDelaySeconds: 3, timeoutSeconds: 3, periodSeconds: 6, failureThreshold: 3 },
  imagePullPolicy: 'IfNotPresent',
  securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
};

const TOKEN_VOLUME = {
  name: 'dapr-identity-token',
  projected: {
    sources: [{ serviceAccountToken: { audience: 'spiffe://cluster.local/ns/dapr-system/dapr-sentry', expirationSeconds: 7200, path: 'token' } }],
    defaultMode: 420,
  },
};

void describe('buildSidecarPatch: the whole patch', () => {
  void test('a minimal annotated pod gets exactly upstream’s operations', () => {
    const result = patched(pod('p', daprEnabled('myapp')));
    assert.deepEqual(result.patch, [
      { op: 'add', path: '/metadata/labels', value: {} },
      { op: 'add', path: '/spec/volumes', value: [TOKEN_VOLUME] },
      { op: 'add', path: '/spec/containers/-', value: DEFAULT_CONTAINER },
      { op: 'add', path: '/metadata/labels/dapr.io~1sidecar-injected', value: 'true' },
      { op: 'add', path: '/metadata/labels/dapr.io~1app-id', value: 'myapp' },
      { op: 'add', path: '/metadata/labels/dapr.io~1metrics-enabled', value: 'true' },
      {
        op: 'add',
        path: '/spec/containers/0/env',
        value: [
          { name: 'DAPR_HTTP_PORT', value: '3500' },
          { name: 'DAPR_GRPC_PORT', value: '50001' },
          { name: 'APP_PROTOCOL', value: 'http' },
        ],
      },
    ]);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.appId, 'myapp');
  });

  void test('existing labels, volumes and env are appended to, never replaced', () => {
    const input = pod(
      'p',
      daprEnabled('myapp'),
      withLabel('app', 'shop'),
      withVolumes({ name: 'data', emptyDir: {} }),
      withContainers({ name: 'app', env: [{ name: 'DAPR_HTTP_PORT', value: '9999' }, { name: 'OTHER', value: '1' }] }, { name: 'worker' }),
    );
    const result = patched(input);
    assert.deepEqual(
      result.patch.map((op) => op.path),
      [
        '/spec/volumes/-',
        '/spec/containers/-',
        '/metadata/labels/dapr.io~1sidecar-injected',
        '/metadata/labels/dapr.io~1app-id',
        '/metadata/labels/dapr.io~1metrics-enabled',
        '/spec/containers/0/env/-',
        '/spec/containers/0/env/-',
        '/spec/containers/1/env',
      ],
    );
    const after = applyJsonPatch(input, result.patch);
    assert.deepEqual(after.metadata?.labels, { app: 'shop', 'dapr.io/sidecar-injected': 'true', 'dapr.io/app-id': 'myapp', 'dapr.io/metrics-enabled': 'true' });
    assert.deepEqual(after.spec?.volumes?.map((v) => v.name), ['data', 'dapr-identity-token']);
    // The user's own DAPR_HTTP_PORT wins.
    assert.deepEqual(after.spec?.containers?.[0]?.env, [
      { name: 'DAPR_HTTP_PORT', value: '9999' },
      { name: 'OTHER', value: '1' },
      { name: 'DAPR_GRPC_PORT', value: '50001' },
      { name: 'APP_PROTOCOL', value: 'http' },
    ]);
    assert.deepEqual(after.spec?.containers?.map((c) => c.name), ['app', 'worker', 'daprd']);
  });

  void test('a pod without containers gets the array first', () => {
    const result = patched(pod('p', daprEnabled('myapp'), withContainers()));
    assert.deepEqual(result.patch[0], { op: 'add', path: '/spec/containers', value: [] });
    const after = applyJsonPatch(pod('p', daprEnabled('myapp'), withContainers()), result.patch);
    assert.deepEqual(after.spec?.containers?.map((c) => c.name), ['daprd']);
  });
});

void describe('buildSidecarPatch: each annotation', () => {
  const base = (...extra: [string, string][]): Pod => pod('p', daprEnabled('myapp'), withAnnotations(Object.fromEntries(extra)));

  const cases: [string, [string, string][], (c: Container) => void][] = [
    ['dapr.io/app-port adds --app-port', [['dapr.io/app-port', '8080']], (c) => assert.equal(flag(c, '--app-port'), '8080')],
    ['dapr.io/app-port 0 adds nothing', [['dapr.io/app-port', '0']], (c) => assert.equal(flag(c, '--app-port'), undefined)],
    ['dapr.io/app-protocol', [['dapr.io/app-protocol', 'grpc']], (c) => assert.equal(flag(c, '--app-protocol'), 'grpc')],
    ['dapr.io/app-ssl', [['dapr.io/app-ssl', 'true']], (c) => assert.equal(flag(c, '--app-ssl'), true)],
    ['dapr.io/config', [['dapr.io/config', 'tracing']], (c) => assert.equal(flag(c, '--config'), 'tracing')],
    ['dapr.io/app-channel-address', [['dapr.io/app-channel-address', '10.0.0.1']], (c) => assert.equal(flag(c, '--app-channel-address'), '10.0.0.1')],
    ['dapr.io/log-level', [['dapr.io/log-level', 'debug']], (c) => assert.equal(flag(c, '--log-level'), 'debug')],
    ['dapr.io/log-as-json', [['dapr.io/log-as-json', 'true']], (c) => assert.equal(flag(c, '--log-as-json'), true)],
    ['dapr.io/enable-api-logging true', [['dapr.io/enable-api-logging', 'true']], (c) => assert.equal(flag(c, '--enable-api-logging'), 'true')],
    ['dapr.io/enable-api-logging false is passed too', [['dapr.io/enable-api-logging', 'false']], (c) => assert.equal(flag(c, '--enable-api-logging'), 'false')],
    ['dapr.io/enable-profiling', [['dapr.io/enable-profiling', 'true']], (c) => assert.equal(flag(c, '--enable-profiling'), true)],
    ['dapr.io/app-max-concurrency', [['dapr.io/app-max-concurrency', '5']], (c) => assert.equal(flag(c, '--app-max-concurrency'), '5')],
    [
      'dapr.io/enable-metrics false',
      [['dapr.io/enable-metrics', 'false']],
      (c) => {
        assert.equal(flag(c, '--enable-metrics'), undefined);
        assert.equal(flag(c, '--metrics-port'), undefined);
        assert.ok(c.ports?.some((p) => p.name === 'dapr-metrics' && p.containerPort === 9090), 'the port stays, as upstream');
      },
    ],
    [
      'dapr.io/metrics-port',
      [['dapr.io/metrics-port', '9191']],
      (c) => {
        assert.equal(flag(c, '--metrics-port'), '9191');
        assert.ok(c.ports?.some((p) => p.name === 'dapr-metrics' && p.containerPort === 9191));
      },
    ],
    [
      'dapr.io/enable-debug and dapr.io/debug-port',
      [['dapr.io/enable-debug', 'true'], ['dapr.io/debug-port', '40001']],
      (c) => {
        assert.deepEqual(c.args?.slice(0, 10), ['/dlv', '--listen', ':40001', '--accept-multiclient', '--headless=true', '--log', '--api-version=2', 'exec', '/daprd', '--']);
        assert.equal(c.args?.[10], '--dapr-http-port');
        assert.ok(c.ports?.some((p) => p.name === 'dapr-debug' && p.containerPort === 40001));
      },
    ],
    [
      'dapr.io/grpc-port',
      [['dapr.io/grpc-port', '50011']],
      (c) => {
        assert.equal(flag(c, '--dapr-grpc-port'), '50011');
        assert.ok(c.ports?.some((p) => p.name === 'dapr-grpc' && p.containerPort === 50011));
      },
    ],
    [
      'dapr.io/internal-grpc-port',
      [['dapr.io/internal-grpc-port', '50012']],
      (c) => {
        assert.equal(flag(c, '--dapr-internal-grpc-port'), '50012');
        assert.ok(c.ports?.some((p) => p.name === 'dapr-internal' && p.containerPort === 50012));
      },
    ],
    ['dapr.io/sidecar-listen-addresses', [['dapr.io/sidecar-listen-addresses', '0.0.0.0']], (c) => assert.equal(flag(c, '--dapr-listen-addresses'), '0.0.0.0')],
    ['dapr.io/http-max-request-size', [['dapr.io/http-max-request-size', '16']], (c) => assert.equal(flag(c, '--dapr-http-max-request-size'), '16')],
    ['dapr.io/max-body-size', [['dapr.io/max-body-size', '16Mi']], (c) => assert.equal(flag(c, '--max-body-size'), '16Mi')],
    ['dapr.io/http-read-buffer-size', [['dapr.io/http-read-buffer-size', '8']], (c) => assert.equal(flag(c, '--dapr-http-read-buffer-size'), '8')],
    ['dapr.io/read-buffer-size', [['dapr.io/read-buffer-size', '8Ki']], (c) => assert.equal(flag(c, '--read-buffer-size'), '8Ki')],
    ['dapr.io/graceful-shutdown-seconds', [['dapr.io/graceful-shutdown-seconds', '10']], (c) => assert.equal(flag(c, '--dapr-graceful-shutdown-seconds'), '10')],
    ['dapr.io/block-shutdown-duration', [['dapr.io/block-shutdown-duration', '30s']], (c) => assert.equal(flag(c, '--dapr-block-shutdown-duration'), '30s')],
    ['dapr.io/disable-builtin-k8s-secret-store', [['dapr.io/disable-builtin-k8s-secret-store', 'true']], (c) => assert.equal(flag(c, '--disable-builtin-k8s-secret-store'), true)],
    ['dapr.io/disable-init-endpoints', [['dapr.io/disable-init-endpoints', 'healthz']], (c) => assert.equal(flag(c, '--disable-init-endpoints'), 'healthz')],
    [
      'dapr.io/enable-app-health-check with defaults',
      [['dapr.io/enable-app-health-check', 'true']],
      (c) => {
        assert.equal(flag(c, '--enable-app-health-check'), true);
        assert.equal(flag(c, '--app-health-check-path'), '/healthz');
        assert.equal(flag(c, '--app-health-probe-interval'), '5');
        assert.equal(flag(c, '--app-health-probe-timeout'), '500');
        assert.equal(flag(c, '--app-health-threshold'), '3');
      },
    ],
    [
      'app health settings',
      [['dapr.io/enable-app-health-check', 'true'], ['dapr.io/app-health-check-path', '/ready'], ['dapr.io/app-health-probe-interval', '2'], ['dapr.io/app-health-probe-timeout', '100'], ['dapr.io/app-health-threshold', '7']],
      (c) => {
        assert.equal(flag(c, '--app-health-check-path'), '/ready');
        assert.equal(flag(c, '--app-health-probe-interval'), '2');
        assert.equal(flag(c, '--app-health-probe-timeout'), '100');
        assert.equal(flag(c, '--app-health-threshold'), '7');
      },
    ],
    ['app health settings alone do nothing', [['dapr.io/app-health-check-path', '/ready']], (c) => assert.equal(flag(c, '--app-health-check-path'), undefined)],
    // No released daprd accepts --app-binding-options-timeout: never passed, whatever the version.
    ['dapr.io/app-binding-options-timeout', [['dapr.io/app-binding-options-timeout', '5s']], (c) => assert.equal(flag(c, '--app-binding-options-timeout'), undefined)],
    ['dapr.io/app-binding-options-timeout for daprd 1.18', [['dapr.io/app-binding-options-timeout', '5s'], IMAGE_18], (c) => assert.equal(flag(c, '--app-binding-options-timeout'), undefined)],
    [
      'sidecar resources',
      [['dapr.io/sidecar-cpu-request', '100m'], ['dapr.io/sidecar-cpu-limit', '1'], ['dapr.io/sidecar-memory-request', '64Mi'], ['dapr.io/sidecar-memory-limit', '256Mi']],
      (c) => assert.deepEqual(c.resources, { limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '100m', memory: '64Mi' } }),
    ],
    [
      'liveness probe settings',
      [['dapr.io/sidecar-liveness-probe-delay-seconds', '11'], ['dapr.io/sidecar-liveness-probe-timeout-seconds', '12'], ['dapr.io/sidecar-liveness-probe-period-seconds', '13'], ['dapr.io/sidecar-liveness-probe-threshold', '14']],
      (c) => assert.deepEqual(c.livenessProbe, { tcpSocket: { port: 3501 }, initialDelaySeconds: 11, timeoutSeconds: 12, periodSeconds: 13, failureThreshold: 14 }),
    ],
    [
      'readiness probe settings',
      [['dapr.io/sidecar-readiness-probe-delay-seconds', '0'], ['dapr.io/sidecar-readiness-probe-timeout-seconds', '2'], ['dapr.io/sidecar-readiness-probe-period-seconds', '3'], ['dapr.io/sidecar-readiness-probe-threshold', '4']],
      (c) => assert.deepEqual(c.readinessProbe, { httpGet: { path: '/v1.0/healthz', port: 3501 }, timeoutSeconds: 2, periodSeconds: 3, failureThreshold: 4 }),
    ],
    ['dapr.io/sidecar-image', [['dapr.io/sidecar-image', 'example.com/daprd:dev']], (c) => assert.equal(c.image, 'example.com/daprd:dev')],
    ['dapr.io/sidecar-seccomp-profile-type', [['dapr.io/sidecar-seccomp-profile-type', 'RuntimeDefault']], (c) => assert.deepEqual(c.securityContext?.seccompProfile, { type: 'RuntimeDefault' })],
    ['dapr.io/placement-host-address', [['dapr.io/placement-host-address', 'my-placement:50005']], (c) => assert.equal(flag(c, '--placement-host-address'), 'my-placement:50005')],
    ['an empty dapr.io/placement-host-address turns actors off', [['dapr.io/placement-host-address', '']], (c) => assert.equal(flag(c, '--placement-host-address'), undefined)],
    ['dapr.io/scheduler-host-address', [['dapr.io/scheduler-host-address', 'sched:50006']], (c) => assert.equal(flag(c, '--scheduler-host-address'), 'sched:50006')],
    ['an empty dapr.io/scheduler-host-address is passed empty', [['dapr.io/scheduler-host-address', '""']], (c) => assert.equal(flag(c, '--scheduler-host-address'), '')],
    ['dapr.io/actors-disseminate-timeout for daprd 1.18', [['dapr.io/actors-disseminate-timeout', '10s'], IMAGE_18], (c) => assert.equal(flag(c, '--actors-disseminate-timeout'), '10s')],
    ['dapr.io/actors-disseminate-timeout is dropped for daprd 1.17', [['dapr.io/actors-disseminate-timeout', '10s']], (c) => assert.equal(flag(c, '--actors-disseminate-timeout'), undefined)],
    ['dapr.io/sentry-request-jwt-audiences', [['dapr.io/sentry-request-jwt-audiences', 'a,b']], (c) => assert.equal(flag(c, '--sentry-request-jwt-audiences'), 'a,b')],
    [
      'dapr.io/env',
      [['dapr.io/env', 'A=1, B=x,y, C=3']],
      (c) => {
        assert.deepEqual(c.env?.slice(5), [
          { name: 'A', value: '1' },
          { name: 'B', value: 'x,y' },
          { name: 'C', value: '3' },
          { name: 'DAPR_ENV_KEYS', value: 'A B C' },
        ]);
      },
    ],
    [
      'dapr.io/env-from-secret',
      [['dapr.io/env-from-secret', 'A=s1,B=s2:k2']],
      (c) => {
        assert.deepEqual(c.env?.slice(5), [
          { name: 'A', valueFrom: { secretKeyRef: { name: 's1', key: 's1' } } },
          { name: 'B', valueFrom: { secretKeyRef: { name: 's2', key: 'k2' } } },
          { name: 'DAPR_ENV_KEYS', value: 'A B' },
        ]);
      },
    ],
    [
      'dapr.io/api-token-secret and dapr.io/app-token-secret',
      [['dapr.io/api-token-secret', 'api'], ['dapr.io/app-token-secret', 'app']],
      (c) => {
        assert.deepEqual(c.env?.slice(5), [
          { name: 'DAPR_API_TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } },
          { name: 'APP_API_TOKEN', valueFrom: { secretKeyRef: { name: 'app', key: 'token' } } },
        ]);
      },
    ],
    [
      'SSL_CERT_DIR relaxes the security context for Windows',
      [['dapr.io/env', 'SSL_CERT_DIR=/certs']],
      (c) => assert.deepEqual(c.securityContext, { windowsOptions: { runAsUserName: 'ContainerAdministrator' }, runAsNonRoot: false, readOnlyRootFilesystem: false, allowPrivilegeEscalation: false }),
    ],
    [
      'dapr.io/enable-native-sidecar for daprd 1.18',
      [['dapr.io/enable-native-sidecar', 'true'], IMAGE_18],
      (c) => assert.equal(c.restartPolicy, 'Always'),
    ],
    ['dapr.io/enable-native-sidecar is dropped for daprd 1.17', [['dapr.io/enable-native-sidecar', 'true']], (c) => assert.equal(c.restartPolicy, undefined)],
  ];

  for (const [what, annotations, check] of cases) {
    void test(what, () => {
      check(daprd(base(...annotations)));
    });
  }

  void test('dapr.io/unix-domain-socket-path mounts the socket folder into daprd and the app', () => {
    const input = base(['dapr.io/unix-domain-socket-path', '/tmp/dapr']);
    const after = injectedPod(input);
    const sidecar = after.spec?.containers?.find((c) => c.name === 'daprd');
    assert.equal(flag(sidecar!, '--unix-domain-socket'), '/var/run/dapr-sockets');
    assert.deepEqual(after.spec?.volumes?.[0], { name: 'dapr-unix-domain-socket', emptyDir: { medium: 'Memory' } });
    assert.deepEqual(sidecar?.volumeMounts?.[0], { name: 'dapr-unix-domain-socket', mountPath: '/var/run/dapr-sockets' });
    assert.deepEqual(after.spec?.containers?.[0]?.volumeMounts, [{ name: 'dapr-unix-domain-socket', mountPath: '/tmp/dapr' }]);
  });

  void test('dapr.io/volume-mounts and -rw mount existing volumes only', () => {
    const input = pod(
      'p',
      daprEnabled('myapp'),
      withVolumes({ name: 'certs', secret: { secretName: 'c' } }, { name: 'scratch', emptyDir: {} }),
      withAnnotations({ 'dapr.io/volume-mounts': 'certs:/certs,missing:/x', 'dapr.io/volume-mounts-rw': 'scratch:/scratch' }),
    );
    const result = patched(input);
    const sidecar = daprd(input);
    assert.deepEqual(sidecar.volumeMounts, [
      { name: 'certs', readOnly: true, mountPath: '/certs' },
      { name: 'scratch', mountPath: '/scratch' },
      { name: 'dapr-identity-token', readOnly: true, mountPath: '/var/run/secrets/dapr.io/sentrytoken' },
    ]);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0]?.message ?? '', /dapr\.io\/volume-mounts: the pod has no volume "missing"/);
  });

  void test('dapr.io/enable-native-sidecar puts daprd in initContainers', () => {
    const input = base(['dapr.io/enable-native-sidecar', 'true']);
    const result = patched(input, NEXT);
    assert.deepEqual(result.patch.slice(2, 4).map((op) => op.path), ['/spec/initContainers', '/spec/initContainers/-']);
    const after = applyJsonPatch(input, result.patch);
    assert.deepEqual(after.spec?.initContainers?.map((c) => [c.name, c.restartPolicy]), [['daprd', 'Always']]);
    assert.deepEqual(after.spec?.containers?.map((c) => c.name), ['app']);
  });

  void test('native sidecars appended after existing init containers', () => {
    const input = pod('p', daprEnabled('myapp'), withInitContainers({ name: 'init' }), withAnnotation('dapr.io/enable-native-sidecar', 'yes'));
    const after = injectedPod(input, NEXT);
    assert.deepEqual(after.spec?.initContainers?.map((c) => c.name), ['init', 'daprd']);
  });

  void test('the injector-wide native sidecar default, and the annotation overriding it', () => {
    const settings = { ...NEXT, nativeSidecarDefault: true };
    assert.equal(daprd(base(), settings).restartPolicy, 'Always');
    assert.equal(daprd(base(['dapr.io/enable-native-sidecar', 'false']), settings).restartPolicy, undefined);
  });

  void test('dapr.io/pluggable-components: the socket volume is shared with the named containers', () => {
    const input = pod('p', daprEnabled('myapp'), withContainers({ name: 'app' }, { name: 'my-store' }), withAnnotation('dapr.io/pluggable-components', 'my-store'));
    const after = injectedPod(input);
    const sidecar = after.spec?.containers?.find((c) => c.name === 'daprd');
    // Both the token and the socket volume survive (upstream replaced the first when the pod had none).
    assert.deepEqual(after.spec?.volumes?.map((v) => v.name), ['dapr-identity-token', 'dapr-components-unix-domain-socket']);
    assert.deepEqual(sidecar?.volumeMounts?.at(-1), { name: 'dapr-components-unix-domain-socket', mountPath: '/tmp/dapr-components-sockets' });
    assert.deepEqual(sidecar?.env?.at(-1), { name: 'DAPR_COMPONENT_SOCKETS_FOLDER', value: '/tmp/dapr-components-sockets' });
    const store = after.spec?.containers?.[1];
    assert.deepEqual(store?.env, [{ name: 'DAPR_COMPONENT_SOCKETS_FOLDER', value: '/tmp/dapr-components-sockets' }]);
    assert.deepEqual(store?.volumeMounts, [{ name: 'dapr-components-unix-domain-socket', mountPath: '/tmp/dapr-components-sockets' }]);
    // The component container is not an app container: no DAPR_HTTP_PORT.
    assert.deepEqual(after.spec?.containers?.[0]?.env?.map((e) => e.name), ['DAPR_HTTP_PORT', 'DAPR_GRPC_PORT', 'APP_PROTOCOL']);
  });

  void test('dapr.io/pluggable-components-sockets-folder and injected component containers', () => {
    const input = pod('p', daprEnabled('myapp'), withAnnotations({ 'dapr.io/inject-pluggable-components': 'true', 'dapr.io/pluggable-components-sockets-folder': '/sock' }));
    const result = buildSidecarPatch({ pod: input, namespace: 'shop', settings: SETTINGS, injectedComponentContainers: [{ name: 'redis-store', image: 'r:1', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }] });
    assert.equal(result.kind, 'patch');
    const after = applyJsonPatch(input, result.kind === 'patch' ? result.patch : []);
    assert.deepEqual(after.spec?.volumes?.map((v) => v.name), ['dapr-identity-token', 'dapr-components-unix-domain-socket', 'cache']);
    const injected = after.spec?.containers?.find((c) => c.name === 'redis-store');
    assert.deepEqual(injected?.volumeMounts, [{ name: 'cache', mountPath: '/cache' }, { name: 'dapr-components-unix-domain-socket', mountPath: '/sock' }]);
  });
});

void describe('buildSidecarPatch: injector settings', () => {
  const input = pod('p', daprEnabled('myapp'));

  void test('mTLS off in daprsystem drops --enable-mtls', () => {
    assert.equal(flag(daprd(input, { ...SETTINGS, mtlsEnabled: false }), '--enable-mtls'), undefined);
  });

  void test('scheduler disabled drops the scheduler address', () => {
    assert.equal(flag(daprd(input, { ...SETTINGS, schedulerEnabled: false }), '--scheduler-host-address'), undefined);
  });

  void test('actors disabled drops the placement address, unless the annotation sets it', () => {
    assert.equal(flag(daprd(input, { ...SETTINGS, actorsEnabled: false }), '--placement-host-address'), undefined);
    const withAnnotationSet = pod('p', daprEnabled('myapp'), withAnnotation('dapr.io/placement-host-address', 'p:1'));
    assert.equal(flag(daprd(withAnnotationSet, { ...SETTINGS, actorsEnabled: false }), '--placement-host-address'), 'p:1');
  });

  void test('another actors service uses the legacy --actors-service flag; reminders service too', () => {
    const c = daprd(input, { ...SETTINGS, actorsService: { name: 'actors', service: 'my-actors', port: 5000 }, remindersService: { name: 'reminders', service: 'my-reminders', port: 5001 } });
    assert.equal(flag(c, '--placement-host-address'), undefined);
    assert.equal(flag(c, '--actors-service'), 'actors:my-actors.dapr-system.svc.cluster.local:5000');
    assert.equal(flag(c, '--reminders-service'), 'reminders:my-reminders.dapr-system.svc.cluster.local:5001');
  });

  void test('control-plane namespace, trust domain and cluster domain shape addresses, env and the token audience', () => {
    const settings = { ...SETTINGS, controlPlaneNamespace: 'cp', controlPlaneTrustDomain: 'example.org', kubeClusterDomain: 'k.local' };
    const after = injectedPod(input, settings);
    const c = after.spec?.containers?.find((x) => x.name === 'daprd');
    assert.equal(flag(c!, '--control-plane-address'), 'dapr-api.cp.svc.k.local:443');
    assert.equal(flag(c!, '--sentry-address'), 'dapr-sentry.cp.svc.k.local:443');
    assert.equal(flag(c!, '--placement-host-address'), 'dapr-placement-server.cp.svc.k.local:50005');
    assert.equal(flag(c!, '--scheduler-host-address'), 'dapr-scheduler-server-a.cp.svc.k.local:443');
    assert.deepEqual(c?.env?.slice(3, 5), [
      { name: 'DAPR_CONTROLPLANE_NAMESPACE', value: 'cp' },
      { name: 'DAPR_CONTROLPLANE_TRUST_DOMAIN', value: 'example.org' },
    ]);
    const token = after.spec?.volumes?.[0] as typeof TOKEN_VOLUME;
    assert.equal(token.projected.sources[0]?.serviceAccountToken.audience, 'spiffe://example.org/ns/cp/dapr-sentry');
  });

  void test('security settings', () => {
    const c = daprd(input, { ...SETTINGS, runAsNonRoot: false, runAsUser: 1000, runAsGroup: 2000, readOnlyRootFilesystem: false, dropAllCapabilities: true });
    assert.deepEqual(c.securityContext, { capabilities: { drop: ['ALL'] }, runAsUser: 1000, runAsGroup: 2000, runAsNonRoot: false, readOnlyRootFilesystem: false, allowPrivilegeEscalation: false });
  });

  void test('downward APIs add DAPR_HOST_IP', () => {
    const c = daprd(input, { ...SETTINGS, enableK8sDownwardApis: true });
    assert.deepEqual(c.env?.[5], { name: 'DAPR_HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
  });

  void test('without a token of its own, the injector adds no token volume', () => {
    const result = patched(input, { ...SETTINGS, tokenVolume: false });
    assert.ok(!result.patch.some((op) => op.path.startsWith('/spec/volumes')));
    assert.equal(daprd(input, { ...SETTINGS, tokenVolume: false }).volumeMounts, undefined);
  });

  void test('a pod with an entrypoint toleration gets command and args apart', () => {
    const toleration = { key: 'virtual-kubelet.io/provider', operator: 'Exists' };
    const settings = { ...SETTINGS, ignoreEntrypointTolerations: [toleration] };
    const c = daprd(pod('p', daprEnabled('myapp'), withTolerations(toleration)), settings);
    assert.deepEqual(c.command, ['/daprd']);
    assert.deepEqual(c.args, DEFAULT_ARGS.slice(1));
    const other = daprd(pod('p', daprEnabled('myapp'), withTolerations({ key: 'other', operator: 'Exists' })), settings);
    assert.equal(other.command, undefined);
  });

  void test('an empty trust anchor set leaves the value out, as Go encodes it', () => {
    assert.deepEqual(daprd(input, { ...SETTINGS, trustAnchorsPem: '' }).env?.[1], { name: 'DAPR_TRUST_ANCHORS' });
  });

  void test('image pull policy', () => {
    assert.equal(daprd(input, { ...SETTINGS, imagePullPolicy: 'Always' }).imagePullPolicy, 'Always');
  });
});

void describe('buildSidecarPatch: skips', () => {
  const skip = (input: Pod): Extract<SidecarPatchResult, { kind: 'skip' }> => {
    const result = buildSidecarPatch({ pod: input, namespace: 'shop', settings: SETTINGS });
    assert.equal(result.kind, 'skip');
    return result;
  };

  void test('a pod without dapr.io/enabled, silently', () => {
    assert.deepEqual(skip(pod('p')), { kind: 'skip', reason: 'not_enabled', warnings: [] });
    assert.deepEqual(skip(pod('p', withAnnotation('dapr.io/enabled', 'false'))).warnings, []);
  });

  void test('"True" in any case is enabled', () => {
    assert.equal(buildSidecarPatch({ pod: pod('p', withAnnotations({ 'dapr.io/enabled': 'TRUE', 'dapr.io/app-id': 'a' })), namespace: 'shop', settings: SETTINGS }).kind, 'patch');
  });

  void test('dapr.io/enabled "yes" is not enabled, and the client is told', () => {
    const result = skip(pod('p', withAnnotation('dapr.io/enabled', 'yes')));
    assert.equal(result.warnings[0]?.code, 'enabled_not_true');
    assert.match(result.warnings[0]?.message ?? '', /only "true" enables sidecar injection/);
  });

  void test('a misspelled dapr.io/enabled is not enabled, and the client is told', () => {
    const result = skip(pod('p', withAnnotations({ 'dapr.io/enable': 'true', 'dapr.io/app-id': 'a' })));
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0]?.message ?? '', /dapr\.io\/enable is not a Dapr annotation, so this pod gets no daprd sidecar: did you mean dapr\.io\/enabled\?/);
  });

  void test('a pod that already has daprd, as a container or an init container', () => {
    assert.equal(skip(pod('p', daprEnabled(), withContainers({ name: 'app' }, { name: 'daprd' }))).reason, 'already_injected');
    assert.equal(skip(pod('p', daprEnabled(), withInitContainers({ name: 'daprd' }))).reason, 'already_injected');
  });

  void test('reinvocation on the patched pod is a no-op, native or not', () => {
    for (const native of ['false', 'true']) {
      const once = injectedPod(pod('p', daprEnabled(), withAnnotation('dapr.io/enable-native-sidecar', native)), NEXT);
      assert.equal(skip(once).reason, 'already_injected');
    }
  });
});

void describe('buildSidecarPatch: warnings and denials', () => {
  const run = (input: Pod, settings: InjectorSettings = SETTINGS): SidecarPatchResult => buildSidecarPatch({ pod: input, namespace: 'shop', settings });
  const base = (annotations: Record<string, string>): Pod => pod('p', daprEnabled('myapp'), withAnnotations(annotations));

  const warns: [string, Pod, RegExp][] = [
    ['a misspelled key', base({ 'dapr.io/app-prot': '8080' }), /dapr\.io\/app-prot is not a Dapr annotation and is ignored: did you mean dapr\.io\/app-port\?/],
    ['a malformed port', base({ 'dapr.io/app-port': 'http' }), /dapr\.io\/app-port: "http" is not an integer/],
    ['a zero app port', base({ 'dapr.io/app-port': '0' }), /daprd gets no app port/],
    ['a malformed quantity', base({ 'dapr.io/sidecar-memory-limit': '1 GB' }), /dapr\.io\/sidecar-memory-limit: "1 GB" is not a Kubernetes quantity, so the sidecar gets no resource requests or limits at all/],
    ['an unknown quantity suffix', base({ 'dapr.io/sidecar-memory-limit': '512K' }), /dapr\.io\/sidecar-memory-limit: "512K" is not a Kubernetes quantity, so the sidecar gets no resource requests or limits at all: its suffix "K" is not one Kubernetes knows \("k" is 1000, "Ki" 1024\); use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3; write e\.g\. "128Mi" or "1Gi"/],
    ['a quantity with bytes spelt out', base({ 'dapr.io/sidecar-memory-request': '128MiB' }), /"128MiB" is not a Kubernetes quantity, .*for bytes write "M" \(powers of 1000\) or "Mi" \(powers of 1024\), without B/],
    ['a quantity without digits (Kubernetes reads 0)', base({ 'dapr.io/sidecar-cpu-limit': 'm' }), /dapr\.io\/sidecar-cpu-limit: "m" has no digits, which Kubernetes reads as 0/],
    ['a missing app id on a bare pod', pod('bare', withAnnotation('dapr.io/enabled', 'true')), /dapr\.io\/app-id is not set: the app id defaults to the pod name "bare"/],
    ['a missing app id on a StatefulSet pod', pod('db-0', withAnnotation('dapr.io/enabled', 'true'), ownedBy('StatefulSet', 'db')), /differs for every replica/],
    ['a deprecated annotation', base({ 'dapr.io/app-ssl': 'true' }), /dapr\.io\/app-ssl is deprecated/],
    ['an env entry without =', base({ 'dapr.io/env': 'oops,A=1' }), /dapr\.io\/env: "oops" has no "="/],
    ['an env entry without a name', base({ 'dapr.io/env': '=x,A=1' }), /dapr\.io\/env: "=x" has no variable name and is ignored/],
    ['a bad secret reference', base({ 'dapr.io/env-from-secret': 'A=a:b:c' }), /is not NAME=secret or NAME=secret:key/],
  ];
  for (const [what, input, message] of warns) {
    void test(`warns about ${what}, and still injects`, () => {
      const result = run(input);
      assert.equal(result.kind, 'patch', result.kind === 'deny' ? result.message : '');
      assert.ok(result.kind === 'patch' && result.warnings.some((w) => message.test(w.message)), JSON.stringify(result.kind === 'patch' ? result.warnings : []));
    });
  }

  void test('every quantity form Kubernetes accepts reaches the sidecar unchanged (n, u, m, SI, binary SI, exponents)', () => {
    const forms = [
      ['1n', '2u', '1Mi', '1Ei'],
      ['250u', '1500m', '12E6', '1.5Gi'],
      ['1e-1', '1E+3', '64M', '1e9'],
      ['.5', '2', '128Ki', '0.5Ti'],
      ['1m', '1k', '1G', '1T'],
      ['1', '1P', '100Mi', '1E'],
    ] as const;
    for (const [cpuRequest, cpuLimit, memoryRequest, memoryLimit] of forms) {
      const input = base({ 'dapr.io/sidecar-cpu-request': cpuRequest, 'dapr.io/sidecar-cpu-limit': cpuLimit, 'dapr.io/sidecar-memory-request': memoryRequest, 'dapr.io/sidecar-memory-limit': memoryLimit });
      const result = run(input);
      assert.equal(result.kind, 'patch', result.kind === 'deny' ? result.message : '');
      assert.deepEqual(result.kind === 'patch' ? result.warnings.filter((w) => /quantit/.test(w.message)) : [], [], cpuRequest);
      assert.deepEqual(daprd(input).resources, { limits: { cpu: cpuLimit, memory: memoryLimit }, requests: { cpu: cpuRequest, memory: memoryRequest } });
    }
  });

  void test('a malformed quantity drops all resources, as upstream does', () => {
    const c = daprd(base({ 'dapr.io/sidecar-memory-limit': '1 GB', 'dapr.io/sidecar-cpu-limit': '1' }));
    assert.deepEqual(c.resources, {});
  });

  const denies: [string, Pod, RegExp, InjectorSettings?][] = [
    ['an unknown protocol', base({ 'dapr.io/app-protocol': 'gprc' }), /dapr\.io\/app-protocol: "gprc" is not an app protocol daprd accepts \(did you mean "grpc"\?\); use one of http, https, grpc, grpcs, h2c/],
    ['an unknown log level', base({ 'dapr.io/log-level': 'verbose' }), /dapr\.io\/log-level: "verbose" is not a log level daprd accepts/],
    ['an app port out of range', base({ 'dapr.io/app-port': '70000' }), /dapr\.io\/app-port: 70000 is not a port number; use 1 to 65535/],
    ['a gRPC port out of range', base({ 'dapr.io/grpc-port': '0' }), /dapr\.io\/grpc-port: 0 is not a port number/],
    ['colliding sidecar ports', base({ 'dapr.io/metrics-port': '50001' }), /dapr\.io\/metrics-port: port 50001 is already used by dapr\.io\/grpc-port/],
    ['an app port on a sidecar port', base({ 'dapr.io/app-port': '3500' }), /dapr\.io\/app-port: port 3500 is also the sidecar HTTP port/],
    ['a negative quantity', base({ 'dapr.io/sidecar-cpu-request': '-1' }), /is negative, which Kubernetes rejects/],
    ['a request above its limit', base({ 'dapr.io/sidecar-memory-request': '1Gi', 'dapr.io/sidecar-memory-limit': '512Mi' }), /dapr\.io\/sidecar-memory-request \("1Gi"\) is more than dapr\.io\/sidecar-memory-limit/],
    ['a bad duration', base({ 'dapr.io/block-shutdown-duration': '30' }), /dapr\.io\/block-shutdown-duration: "30" is not a duration/],
    ['a negative probe setting', base({ 'dapr.io/sidecar-liveness-probe-period-seconds': '-5' }), /dapr\.io\/sidecar-liveness-probe-period-seconds: -5 is negative/],
    ['an unknown seccomp profile type', base({ 'dapr.io/sidecar-seccomp-profile-type': 'runtime/default' }), /is not a seccomp profile type/],
    ['a Localhost seccomp profile', base({ 'dapr.io/sidecar-seccomp-profile-type': 'Localhost' }), /needs a localhostProfile/],
    ['an empty dapr.io/config', base({ 'dapr.io/config': '' }), /dapr\.io\/config is present but empty/],
    ['an invalid app id', base({ 'dapr.io/app-id': 'My_App' }), /invalid app id "My_App" in dapr\.io\/app-id: "<app-id>-dapr" must be a DNS-1123 label/],
    ['an app id too long', base({ 'dapr.io/app-id': 'a'.repeat(59) }), /invalid app id/],
    ['an invalid pod name as app id', pod('Bad.Name', withAnnotation('dapr.io/enabled', 'true')), /invalid app id "Bad.Name" \(from the pod name\)/],
    [
      'no app id and no name (a controller pod from generateName)',
      pod('', withAnnotation('dapr.io/enabled', 'true'), withGenerateName('web-7d9f-'), ownedBy('ReplicaSet', 'web-7d9f')),
      /dapr\.io\/app-id is not set and the pod has no name yet \(it is created from generateName "web-7d9f-"\), so there is no app id for the sidecar: add dapr\.io\/app-id/,
    ],
    ['a native sidecar on an old API server', base({ 'dapr.io/enable-native-sidecar': 'true' }), /older than Kubernetes 1\.29.*set dapr\.io\/enable-native-sidecar to "false"/, { ...NEXT, nativeSidecarsSupported: false }],
  ];
  for (const [what, input, message, settings] of denies) {
    void test(`denies ${what}`, () => {
      const result = run(input, settings);
      assert.equal(result.kind, 'deny');
      assert.match(result.kind === 'deny' ? result.message : '', message);
    });
  }

  void test('every denial is in the message', () => {
    const result = run(base({ 'dapr.io/app-protocol': 'tcp', 'dapr.io/log-level': 'loud' }));
    assert.equal(result.kind, 'deny');
    assert.equal(result.kind === 'deny' ? result.denials.length : 0, 2);
    assert.match(result.kind === 'deny' ? result.message : '', /app-protocol.*; .*log-level/);
  });

  void test('native sidecars on an old API server are fine when not asked for', () => {
    assert.equal(run(base({}), { ...SETTINGS, nativeSidecarsSupported: false }).kind, 'patch');
  });
});

void describe('buildSidecarPatch: the daprd version the sidecar runs', () => {
  const run = (annotations: Record<string, string>, settings: InjectorSettings = SETTINGS): Extract<SidecarPatchResult, { kind: 'patch' }> =>
    patched(pod('p', daprEnabled('myapp'), withAnnotations(annotations)), settings);
  const sidecarOf = (result: Extract<SidecarPatchResult, { kind: 'patch' }>): Container => {
    const op = result.patch.find((o) => o.path === '/spec/containers/-' || o.path === '/spec/initContainers/-');
    return op?.value as Container;
  };
  const LIVENESS_17 = { tcpSocket: { port: 3501 }, initialDelaySeconds: 3, timeoutSeconds: 3, periodSeconds: 6, failureThreshold: 3 };
  const LIVENESS_18 = { tcpSocket: { port: 3501 }, initialDelaySeconds: 180, timeoutSeconds: 3, periodSeconds: 10, failureThreshold: 5 };
  const READINESS_18 = { httpGet: { path: '/v1.0/healthz', port: 3501 }, initialDelaySeconds: 1, timeoutSeconds: 1, periodSeconds: 1, failureThreshold: 5 };

  void test('probe defaults follow the version: SIDECAR_IMAGE, then dapr.io/sidecar-image', () => {
    assert.deepEqual(sidecarOf(run({})).livenessProbe, LIVENESS_17);
    assert.deepEqual(sidecarOf(run({}, NEXT)).livenessProbe, LIVENESS_18);
    assert.deepEqual(sidecarOf(run({}, NEXT)).readinessProbe, READINESS_18);
    assert.deepEqual(sidecarOf(run({ 'dapr.io/sidecar-image': 'ghcr.io/dapr/daprd:1.18.1' })).livenessProbe, LIVENESS_18);
    assert.deepEqual(sidecarOf(run({ 'dapr.io/sidecar-image': 'docker.io/daprio/daprd:1.17.2-mariner' }, NEXT)).livenessProbe, LIVENESS_17);
  });

  void test('a pod setting some probe annotations gets its version’s defaults for the rest, also for malformed ones', () => {
    const result = run({ 'dapr.io/sidecar-liveness-probe-delay-seconds': '30', 'dapr.io/sidecar-liveness-probe-threshold': 'x' });
    assert.deepEqual(sidecarOf(result).livenessProbe, { ...LIVENESS_17, initialDelaySeconds: 30 });
    assert.match(result.warnings.map((w) => w.message).join('\n'), /threshold: "x" is not an integer, so the default of the sidecar's daprd version is used/);
  });

  void test('annotations the version does not support are dropped with a warning naming them and the version', () => {
    const result = run({ 'dapr.io/actors-disseminate-timeout': '10s', 'dapr.io/app-binding-options-timeout': '5s', 'dapr.io/enable-native-sidecar': 'true' });
    const args = sidecarOf(result).args ?? [];
    assert.ok(!args.includes('--actors-disseminate-timeout') && !args.includes('--app-binding-options-timeout'), args.join(' '));
    assert.equal(result.patch.some((o) => o.path.startsWith('/spec/initContainers')), false);
    const messages = result.warnings.filter((w) => w.code === 'unsupported_by_version').map((w) => w.message);
    assert.deepEqual(messages, [
      'dapr.io/actors-disseminate-timeout is ignored for this sidecar, which runs daprd 1.17: it needs daprd 1.18 or later',
      'dapr.io/enable-native-sidecar is ignored for this sidecar, which runs daprd 1.17: it needs daprd 1.18 or later',
      'dapr.io/app-binding-options-timeout is ignored for this sidecar, which runs daprd 1.17: no released daprd accepts the flag it would pass',
    ]);
    const next = run({ 'dapr.io/actors-disseminate-timeout': '10s', 'dapr.io/app-binding-options-timeout': '5s' }, NEXT);
    assert.deepEqual(next.warnings.map((w) => w.annotation), ['dapr.io/app-binding-options-timeout']);
  });

  void test('NATIVE_SIDECAR_ENABLED does not apply to daprd 1.17 sidecars, with a warning', () => {
    const result = run({}, { ...SETTINGS, nativeSidecarDefault: true });
    assert.equal(sidecarOf(result).restartPolicy, undefined);
    assert.match(result.warnings[0]?.message ?? '', /NATIVE_SIDECAR_ENABLED.*daprd 1\.17 and is injected as a regular container/);
    assert.equal(sidecarOf(run({}, { ...NEXT, nativeSidecarDefault: true })).restartPolicy, 'Always');
  });

  void test('an image without a version tag: the --sidecar-version hint for SIDECAR_IMAGE, else the newest shape with a warning', () => {
    const digest = 'ghcr.io/dapr/daprd@sha256:' + 'a'.repeat(64);
    const hinted = run({}, { ...SETTINGS, sidecarImage: digest, sidecarVersionHint: '1.17.5' });
    assert.equal(hinted.version.minor, '1.17');
    assert.equal(hinted.version.source, 'hint');
    assert.deepEqual(hinted.warnings, []);
    const unknown = run({}, { ...SETTINGS, sidecarImage: digest });
    assert.equal(unknown.version.minor, '1.18');
    assert.match(unknown.warnings[0]?.message ?? '', /has no version tag.*built as for daprd 1\.18/);
    // A pod's own untagged image is not the hinted one.
    const own = run({ 'dapr.io/sidecar-image': 'example.com/daprd:latest' }, { ...SETTINGS, sidecarVersionHint: '1.17.5' });
    assert.equal(own.version.fallbackReason, 'unknown');
  });

  void test('newer versions get the newest shape, older ones the oldest, both with a warning', () => {
    const newer = run({ 'dapr.io/sidecar-image': 'ghcr.io/dapr/daprd:1.19.0-rc.1' });
    assert.deepEqual([newer.version.minor, newer.version.fallbackReason], ['1.18', 'newer']);
    assert.match(newer.warnings[0]?.message ?? '', /"1\.19\.0-rc\.1" is newer than the versions the injector knows, so the sidecar is built as for daprd 1\.18/);
    const older = run({ 'dapr.io/sidecar-image': 'ghcr.io/dapr/daprd:v1.16.9' });
    assert.deepEqual([older.version.minor, older.version.fallbackReason], ['1.17', 'older']);
    const tagAndDigest = run({ 'dapr.io/sidecar-image': `registry:5000/dapr/daprd:1.18.1@sha256:${'b'.repeat(64)}` });
    assert.deepEqual([tagAndDigest.version.minor, tagAndDigest.version.fallbackReason], ['1.18', undefined]);
  });
});
