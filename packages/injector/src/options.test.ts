import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clusterDomainFromResolvConf, parseInjectorOptions } from './options.js';

const REQUIRED = { SIDECAR_IMAGE: 'ghcr.io/dapr/daprd:1.17.5', NAMESPACE: 'dapr-system' };

void describe('parseInjectorOptions', () => {
  void test('upstream defaults', () => {
    const options = parseInjectorOptions([], REQUIRED, { readResolvConf: () => undefined, hasServiceAccountToken: () => true });
    assert.equal(options.port, 4000);
    assert.deepEqual(options.healthz, { host: '', port: 8080 });
    assert.deepEqual(options.metrics, { enabled: true, host: '', port: 9090 });
    assert.equal(options.trustAnchorsFile, '/var/run/dapr.io/tls/ca.crt');
    assert.equal(options.webhookConfigurationName, 'dapr-sidecar-injector');
    assert.deepEqual(options.sidecar, {
      sidecarImage: 'ghcr.io/dapr/daprd:1.17.5',
      imagePullPolicy: 'Always',
      controlPlaneNamespace: 'dapr-system',
      controlPlaneTrustDomain: 'cluster.local',
      kubeClusterDomain: 'cluster.local',
      schedulerEnabled: true,
      actorsEnabled: true,
      ignoreEntrypointTolerations: [],
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      enableK8sDownwardApis: false,
      dropAllCapabilities: false,
      nativeSidecarDefault: false,
      tokenVolume: true,
      componentsSocketsFolder: '/tmp/dapr-components-sockets',
      mode: 'kubernetes',
    });
  });

  void test('upstream environment variables, as the chart sets them', () => {
    const options = parseInjectorOptions(['--scheduler-enabled=false', '--port', '4443'], {
      ...REQUIRED,
      SIDECAR_IMAGE_PULL_POLICY: 'IfNotPresent',
      KUBE_CLUSTER_DOMAIN: 'corp.local',
      DAPR_CONTROL_PLANE_TRUST_DOMAIN: 'example.org',
      DAPR_TRUST_ANCHORS_FILE: '/var/run/secrets/dapr.io/tls/ca.crt',
      ALLOWED_SERVICE_ACCOUNTS: 'argo:argo-server, ci:*',
      ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES: 'team:deploy',
      IGNORE_ENTRYPOINT_TOLERATIONS: '[{"key":"virtual-kubelet.io/provider","operator":"Exists"}]',
      ACTORS_ENABLED: 'false',
      REMINDERS_SERVICE_NAME: 'reminders',
      REMINDERS_SERVICE_ADDRESS: 'dapr-reminders:50007',
      SIDECAR_RUN_AS_NON_ROOT: 'false',
      SIDECAR_RUN_AS_USER: '1000',
      SIDECAR_RUN_AS_GROUP: '3000',
      SIDECAR_READ_ONLY_ROOT_FILESYSTEM: 'false',
      ENABLE_K8S_DOWNWARD_APIS: 'true',
      SIDECAR_DROP_ALL_CAPABILITIES: 'true',
      NATIVE_SIDECAR_ENABLED: 'true',
    });
    assert.equal(options.port, 4443);
    assert.equal(options.trustAnchorsFile, '/var/run/secrets/dapr.io/tls/ca.crt');
    assert.deepEqual(options.allowedServiceAccounts, ['argo:argo-server', 'ci:*']);
    assert.deepEqual(options.allowedServiceAccountsPrefixNames, ['team:deploy']);
    const s = options.sidecar;
    assert.equal(s.imagePullPolicy, 'IfNotPresent');
    assert.equal(s.kubeClusterDomain, 'corp.local');
    assert.equal(s.controlPlaneTrustDomain, 'example.org');
    assert.equal(s.schedulerEnabled, false);
    assert.equal(s.actorsEnabled, false);
    assert.deepEqual(s.remindersService, { name: 'reminders', service: 'dapr-reminders', port: 50007 });
    assert.deepEqual(s.ignoreEntrypointTolerations, [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }]);
    assert.equal(s.runAsNonRoot, false);
    assert.equal(s.runAsUser, 1000);
    assert.equal(s.runAsGroup, 3000);
    assert.equal(s.readOnlyRootFilesystem, false);
    assert.equal(s.enableK8sDownwardApis, true);
    assert.equal(s.dropAllCapabilities, true);
    assert.equal(s.nativeSidecarDefault, true);
  });

  void test('serving TLS: files first, else the Sentry SVID as upstream, else self-signed', () => {
    const machine = { sentryTokenFile: () => '/var/run/secrets/dapr.io/sentrytoken/token' };
    assert.deepEqual(parseInjectorOptions([], REQUIRED, machine).servingTls, { source: 'self-signed' });
    assert.deepEqual(parseInjectorOptions([], { ...REQUIRED, DAPR_SENTRY_ADDRESS: 'dapr-sentry.dapr-system.svc.cluster.local:443' }, machine).servingTls, {
      source: 'sentry',
      sentryAddress: 'dapr-sentry.dapr-system.svc.cluster.local:443',
      tokenFile: '/var/run/secrets/dapr.io/sentrytoken/token',
      keyAlgorithm: 'ecdsa-p256',
    });
    assert.deepEqual(parseInjectorOptions(['--tls-cert-file', '/c', '--tls-key-file', '/k'], { ...REQUIRED, DAPR_SENTRY_ADDRESS: 'x:443' }, machine).servingTls, {
      source: 'files',
      certFile: '/c',
      keyFile: '/k',
      caFile: undefined,
    });
  });

  void test('the Sentry token file: DAPR_SENTRY_TOKEN_FILE (upstream\'s name) or the flag, before the mounted tokens', () => {
    const machine = { sentryTokenFile: () => '/var/run/secrets/dapr.io/sentrytoken/token' };
    const sentry = { ...REQUIRED, DAPR_SENTRY_ADDRESS: 'x:443' };
    const tokenFile = (argv: string[], env: Record<string, string>): string | undefined => {
      const tls = parseInjectorOptions(argv, env, machine).servingTls;
      return tls.source === 'sentry' ? tls.tokenFile : undefined;
    };
    assert.equal(tokenFile([], { ...sentry, DAPR_SENTRY_TOKEN_FILE: '/run/injector.token' }), '/run/injector.token');
    assert.equal(tokenFile(['--sentry-token-file', '/tmp/t'], sentry), '/tmp/t');
    assert.equal(tokenFile([], sentry), '/var/run/secrets/dapr.io/sentrytoken/token');
  });

  void test('the SVID key: P-256 as 1.17 unless rsa-2048 (as 1.18) is asked for; anything else is refused', () => {
    const keyOf = (argv: string[]): string | undefined => {
      const tls = parseInjectorOptions(argv, { ...REQUIRED, DAPR_SENTRY_ADDRESS: 'x:443' }).servingTls;
      return tls.source === 'sentry' ? tls.keyAlgorithm : undefined;
    };
    assert.equal(keyOf([]), 'ecdsa-p256');
    assert.equal(keyOf(['--svid-key-algorithm', 'rsa-2048']), 'rsa-2048');
    assert.throws(() => keyOf(['--svid-key-algorithm', 'ed25519']), /--svid-key-algorithm must be one of ecdsa-p256, rsa-2048, got "ed25519"/);
  });

  void test('pull policy maps as upstream: unknown values mean IfNotPresent', () => {
    assert.equal(parseInjectorOptions([], { ...REQUIRED, SIDECAR_IMAGE_PULL_POLICY: 'Never' }).sidecar.imagePullPolicy, 'Never');
    assert.equal(parseInjectorOptions([], { ...REQUIRED, SIDECAR_IMAGE_PULL_POLICY: 'sometimes' }).sidecar.imagePullPolicy, 'IfNotPresent');
  });

  void test('the token volume follows the injector’s own token unless set', () => {
    assert.equal(parseInjectorOptions([], REQUIRED, { hasServiceAccountToken: () => false }).sidecar.tokenVolume, false);
    assert.equal(parseInjectorOptions(['--sidecar-token-volume', 'true'], REQUIRED, { hasServiceAccountToken: () => false }).sidecar.tokenVolume, true);
  });

  const invalid: [string, string[], Record<string, string>, RegExp][] = [
    ['no sidecar image', [], { NAMESPACE: 'x' }, /SIDECAR_IMAGE \(or --sidecar-image\) is required/],
    ['no namespace', [], { SIDECAR_IMAGE: 'x' }, /NAMESPACE \(or --namespace\) is required/],
    ['a bad log level', ['--log-level', 'loud'], REQUIRED, /--log-level must be one of/],
    ['a cert without a key', ['--tls-cert-file', '/x'], REQUIRED, /go together/],
    ['bad tolerations', [], { ...REQUIRED, IGNORE_ENTRYPOINT_TOLERATIONS: '{' }, /IGNORE_ENTRYPOINT_TOLERATIONS is not JSON/],
    ['a bad actors service', [], { ...REQUIRED, ACTORS_SERVICE_NAME: 'a', ACTORS_SERVICE_ADDRESS: 'nope' }, /ACTORS_SERVICE_ADDRESS must be <service>:<port>/],
    ['a bad run-as user', [], { ...REQUIRED, SIDECAR_RUN_AS_USER: 'root' }, /SIDECAR_RUN_AS_USER must be an integer/],
  ];
  for (const [what, argv, env, message] of invalid) {
    void test(`refuses ${what}`, () => {
      assert.throws(() => parseInjectorOptions(argv, env), message);
    });
  }
});

void describe('clusterDomainFromResolvConf', () => {
  void test('the first search domain in sort order, as upstream', () => {
    assert.equal(clusterDomainFromResolvConf('nameserver 10.0.0.10\nsearch dapr-system.svc.corp.local svc.corp.local corp.local\noptions ndots:5\n'), 'corp.local');
    assert.equal(clusterDomainFromResolvConf('# search other.local\nnameserver 1.1.1.1\n'), 'cluster.local');
    assert.equal(clusterDomainFromResolvConf(''), 'cluster.local');
  });
});
