import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANNOTATIONS, type AnnotationName } from './annotation-table.js';
import { parseAnnotations, suggestKey } from './parse-annotations.js';
import { analyseQuantity, editDistance, isGoDuration, isTruthy, parseGoInt, parseQuantity, trimQuotesAndSpace } from './value-parsers.js';

void describe('parseAnnotations', () => {
  // Spec 5.5 with upstream's defaults (patcher/sidecar.go, Dapr 1.18).
  const defaults: [AnnotationName, string, unknown][] = [
    ['enabled', 'dapr.io/enabled', false],
    ['appId', 'dapr.io/app-id', ''],
    ['appPort', 'dapr.io/app-port', 0],
    ['appProtocol', 'dapr.io/app-protocol', 'http'],
    ['appSsl', 'dapr.io/app-ssl', false],
    ['config', 'dapr.io/config', ''],
    ['appChannelAddress', 'dapr.io/app-channel-address', ''],
    ['logLevel', 'dapr.io/log-level', 'info'],
    ['logAsJson', 'dapr.io/log-as-json', false],
    ['enableApiLogging', 'dapr.io/enable-api-logging', undefined],
    ['enableProfiling', 'dapr.io/enable-profiling', false],
    ['appMaxConcurrency', 'dapr.io/app-max-concurrency', undefined],
    ['enableMetrics', 'dapr.io/enable-metrics', true],
    ['metricsPort', 'dapr.io/metrics-port', 9090],
    ['enableDebug', 'dapr.io/enable-debug', false],
    ['debugPort', 'dapr.io/debug-port', 40000],
    ['grpcPort', 'dapr.io/grpc-port', 50001],
    ['internalGrpcPort', 'dapr.io/internal-grpc-port', 50002],
    ['listenAddresses', 'dapr.io/sidecar-listen-addresses', '[::1],127.0.0.1'],
    ['httpMaxRequestSize', 'dapr.io/http-max-request-size', undefined],
    ['maxBodySize', 'dapr.io/max-body-size', ''],
    ['httpReadBufferSize', 'dapr.io/http-read-buffer-size', undefined],
    ['readBufferSize', 'dapr.io/read-buffer-size', ''],
    ['gracefulShutdownSeconds', 'dapr.io/graceful-shutdown-seconds', -1],
    ['blockShutdownDuration', 'dapr.io/block-shutdown-duration', undefined],
    ['unixDomainSocketPath', 'dapr.io/unix-domain-socket-path', ''],
    ['disableBuiltinK8sSecretStore', 'dapr.io/disable-builtin-k8s-secret-store', false],
    ['env', 'dapr.io/env', ''],
    ['envFromSecret', 'dapr.io/env-from-secret', ''],
    ['apiTokenSecret', 'dapr.io/api-token-secret', ''],
    ['appTokenSecret', 'dapr.io/app-token-secret', ''],
    ['disableInitEndpoints', 'dapr.io/disable-init-endpoints', undefined],
    ['enableAppHealthCheck', 'dapr.io/enable-app-health-check', false],
    ['appHealthCheckPath', 'dapr.io/app-health-check-path', '/healthz'],
    ['appHealthProbeInterval', 'dapr.io/app-health-probe-interval', 5],
    ['appHealthProbeTimeout', 'dapr.io/app-health-probe-timeout', 500],
    ['appHealthThreshold', 'dapr.io/app-health-threshold', 3],
    ['appBindingOptionsTimeout', 'dapr.io/app-binding-options-timeout', undefined],
    ['cpuRequest', 'dapr.io/sidecar-cpu-request', ''],
    ['cpuLimit', 'dapr.io/sidecar-cpu-limit', ''],
    ['memoryRequest', 'dapr.io/sidecar-memory-request', ''],
    ['memoryLimit', 'dapr.io/sidecar-memory-limit', ''],
    ['livenessProbeDelaySeconds', 'dapr.io/sidecar-liveness-probe-delay-seconds', 180],
    ['livenessProbeTimeoutSeconds', 'dapr.io/sidecar-liveness-probe-timeout-seconds', 3],
    ['livenessProbePeriodSeconds', 'dapr.io/sidecar-liveness-probe-period-seconds', 10],
    ['livenessProbeThreshold', 'dapr.io/sidecar-liveness-probe-threshold', 5],
    ['readinessProbeDelaySeconds', 'dapr.io/sidecar-readiness-probe-delay-seconds', 1],
    ['readinessProbeTimeoutSeconds', 'dapr.io/sidecar-readiness-probe-timeout-seconds', 1],
    ['readinessProbePeriodSeconds', 'dapr.io/sidecar-readiness-probe-period-seconds', 1],
    ['readinessProbeThreshold', 'dapr.io/sidecar-readiness-probe-threshold', 5],
    ['sidecarImage', 'dapr.io/sidecar-image', ''],
    ['seccompProfileType', 'dapr.io/sidecar-seccomp-profile-type', ''],
    ['volumeMounts', 'dapr.io/volume-mounts', ''],
    ['volumeMountsRw', 'dapr.io/volume-mounts-rw', ''],
    ['enableNativeSidecar', 'dapr.io/enable-native-sidecar', undefined],
    ['placementHostAddress', 'dapr.io/placement-host-address', undefined],
    ['schedulerHostAddress', 'dapr.io/scheduler-host-address', undefined],
    ['actorsDisseminateTimeout', 'dapr.io/actors-disseminate-timeout', undefined],
    ['sentryRequestJwtAudiences', 'dapr.io/sentry-request-jwt-audiences', ''],
    ['pluggableComponents', 'dapr.io/pluggable-components', ''],
    ['pluggableComponentsSocketsFolder', 'dapr.io/pluggable-components-sockets-folder', ''],
    ['injectPluggableComponents', 'dapr.io/inject-pluggable-components', false],
  ];

  void test('the table covers exactly the annotations of spec 5.5', () => {
    assert.deepEqual(Object.keys(ANNOTATIONS).sort(), defaults.map(([name]) => name).sort());
  });

  for (const [name, key, value] of defaults) {
    void test(`${key} defaults to ${JSON.stringify(value)}`, () => {
      assert.equal(ANNOTATIONS[name].key, key);
      const { values, present, diagnostics } = parseAnnotations({});
      assert.equal(values[name], value);
      assert.equal(present.size, 0);
      assert.deepEqual(diagnostics, []);
    });
  }

  const reads: [string, string, AnnotationName, unknown][] = [
    ['bool true', 'true', 'logAsJson', true],
    ['bool yes', 'yes', 'logAsJson', true],
    ['bool " ON "', ' ON ', 'logAsJson', true],
    ['bool 1', '1', 'enableProfiling', true],
    ['bool false', 'false', 'enableMetrics', false],
    ['bool empty', '', 'enableMetrics', false],
    ['optional bool false', 'false', 'enableApiLogging', false],
    ['int', '8080', 'appPort', 8080],
    ['int with sign', '+8080', 'appPort', 8080],
    ['negative int', '-1', 'gracefulShutdownSeconds', -1],
    ['optional int', '10', 'appMaxConcurrency', 10],
    ['string', 'grpc', 'appProtocol', 'grpc'],
    ['empty string kept', '', 'config', ''],
    ['optional string empty', '', 'blockShutdownDuration', ''],
    ['placement quotes trimmed', `"placement:50005"`, 'placementHostAddress', 'placement:50005'],
    // Go trims the quotes first, then the spaces: quotes inside spaces stay.
    ['placement spaces trimmed after quotes', ` "placement:50005" `, 'placementHostAddress', '"placement:50005"'],
    ['scheduler quotes and spaces trimmed', `' '`, 'schedulerHostAddress', ''],
  ];
  for (const [what, raw, name, expected] of reads) {
    void test(`reads ${what}`, () => {
      const { values, present, diagnostics } = parseAnnotations({ [ANNOTATIONS[name].key]: raw });
      assert.equal(values[name], expected);
      assert.ok(present.has(name));
      assert.deepEqual(diagnostics, []);
    });
  }

  const bad: [string, string, AnnotationName, unknown, RegExp][] = [
    ['malformed int keeps the default', '80 80', 'grpcPort', 50001, /dapr\.io\/grpc-port: "80 80" is not an integer, so the default 50001 is used/],
    ['int with spaces (Go refuses them)', ' 3000', 'appPort', 0, /is not an integer/],
    ['int out of int32 range', '99999999999', 'appPort', 0, /is not an integer/],
    ['malformed optional int is ignored', 'ten', 'appMaxConcurrency', undefined, /the annotation is ignored/],
    ['bool typo reads false', 'ture', 'logAsJson', false, /dapr\.io\/log-as-json: "ture" is not a boolean and is read as false/],
  ];
  for (const [what, raw, name, expected, message] of bad) {
    void test(`warns: ${what}`, () => {
      const { values, diagnostics } = parseAnnotations({ [ANNOTATIONS[name].key]: raw });
      assert.equal(values[name], expected);
      assert.equal(diagnostics.length, 1);
      assert.equal(diagnostics[0]?.severity, 'warning');
      assert.match(diagnostics[0]?.message ?? '', message);
    });
  }

  const keys: [string, string | undefined][] = [
    ['dapr.io/enable', 'dapr.io/enabled'],
    ['dapr.io/enbaled', 'dapr.io/enabled'],
    ['dapr.io/app_id', 'dapr.io/app-id'],
    ['Dapr.io/app-port', 'dapr.io/app-port'],
    ['dapr.io/appid', 'dapr.io/app-id'],
    ['dapr/app-id', 'dapr.io/app-id'],
    ['dapr.io/log-levl', 'dapr.io/log-level'],
    ['dapr.io/sidecar-cpu-requests', 'dapr.io/sidecar-cpu-request'],
    ['example.com/config', undefined],
    ['app.kubernetes.io/name', undefined],
  ];
  for (const [key, suggestion] of keys) {
    void test(`suggests ${String(suggestion)} for ${key}`, () => {
      assert.equal(suggestKey(key), suggestion);
      const { diagnostics } = parseAnnotations({ [key]: 'x' });
      if (suggestion) {
        assert.equal(diagnostics.length, 1);
        assert.equal(diagnostics[0]?.code, 'unknown_annotation');
        assert.match(diagnostics[0]?.message ?? '', new RegExp(`did you mean ${suggestion.replace(/\./g, '\\.')}\\?`));
      } else {
        assert.deepEqual(diagnostics, []);
      }
    });
  }

  void test('an unknown dapr.io key far from any known one is reported without a suggestion', () => {
    const { diagnostics } = parseAnnotations({ 'dapr.io/something-else-entirely': 'x' });
    assert.equal(diagnostics.length, 1);
    assert.match(diagnostics[0]?.message ?? '', /is not a Dapr annotation the sidecar injector knows/);
  });

  void test('keys Dapr uses elsewhere are not reported', () => {
    const { diagnostics } = parseAnnotations({ 'dapr.io/control-plane': 'operator', 'dapr.io/sidecar-svc-annotations': 'a=b' });
    assert.deepEqual(diagnostics, []);
  });

  void test('a huge value is cut short in the message', () => {
    const { diagnostics } = parseAnnotations({ 'dapr.io/app-port': 'x'.repeat(100_000) });
    assert.ok((diagnostics[0]?.message.length ?? 0) < 300);
  });
});

void describe('value parsers', () => {
  void test('isTruthy is dapr/kit IsTruthy', () => {
    for (const yes of ['y', 'Y', 'yes', 'true', 'TRUE', 't', 'on', '1', ' true ']) assert.equal(isTruthy(yes), true, yes);
    for (const no of ['n', 'no', 'false', '0', '', 'enabled', 'truee']) assert.equal(isTruthy(no), false, no);
  });

  void test('parseGoInt accepts what strconv.ParseInt(v, 10) accepts', () => {
    assert.equal(parseGoInt('42'), 42);
    assert.equal(parseGoInt('-42'), -42);
    assert.equal(parseGoInt('+7'), 7);
    assert.equal(parseGoInt('007'), 7);
    for (const no of ['', ' 1', '1 ', '1.0', '0x10', '1_000', '1e3']) assert.equal(parseGoInt(no), undefined, no);
  });

  // Each row checked against k8s.io/apimachinery v0.34.4's resource.ParseQuantity (AsApproximateFloat64).
  const QUANTITIES: ReadonlyArray<readonly [string, number]> = [
    ['0', 0], ['1', 1], ['+1', 1], ['-1', -1], ['500m', 0.5], ['0.1m', 0.0001], ['1n', 1e-9], ['1u', 1e-6], ['250u', 0.00025],
    ['1k', 1e3], ['1M', 1e6], ['1G', 1e9], ['1T', 1e12], ['1P', 1e15], ['1E', 1e18],
    ['1Ki', 2 ** 10], ['1Mi', 2 ** 20], ['128Mi', 128 * 2 ** 20], ['1Gi', 2 ** 30], ['1Ti', 2 ** 40], ['1Pi', 2 ** 50], ['1Ei', 2 ** 60], ['1.5Gi', 1.5 * 2 ** 30], ['.5Gi', 2 ** 29],
    ['1e3', 1e3], ['12E6', 12e6], ['1e-3', 1e-3], ['1E+3', 1e3], ['.5', 0.5], ['5.', 5],
  ];
  for (const [quantity, amount] of QUANTITIES) {
    void test(`parseQuantity ${JSON.stringify(quantity)} = ${amount}, as resource.ParseQuantity`, () => {
      const parsed = parseQuantity(quantity);
      assert.ok(parsed !== undefined && Math.abs(parsed - amount) <= Math.abs(amount) * 1e-12, `${quantity} -> ${parsed}`);
    });
  }

  void test('parseQuantity refuses what resource.ParseQuantity refuses, and says why', () => {
    const refused: ReadonlyArray<readonly [string, RegExp]> = [
      ['', /empty/],
      ['1K', /suffix "K" is not one Kubernetes knows \("k" is 1000, "Ki" 1024\)/],
      ['1mi', /binary suffixes start with a capital: "Mi"/],
      ['1MB', /for bytes write "M" \(powers of 1000\) or "Mi" \(powers of 1024\), without B/],
      ['1e', /suffix "e" is not one/],
      ['e', /suffix "e" is not one/],
      ['1ee3', /suffix "ee3"/],
      ['1kk', /suffix "kk"/],
      ['1Ki2', /suffix "Ki2"/],
      ['1e3.5', /not a number followed by a suffix/],
      ['1 cpu', /not a number followed by a suffix.*no spaces/],
      [' 1', /no spaces/],
      ['1 ', /no spaces/],
      ['1.2.3', /not a number/],
      ['1e99999999999999999999', /suffix "e99999999999999999999"/],
    ];
    for (const [quantity, problem] of refused) {
      assert.equal(parseQuantity(quantity), undefined, quantity);
      const analysed = analyseQuantity(quantity);
      assert.ok('problem' in analysed, quantity);
      assert.match(analysed.problem, problem, quantity);
    }
    // Go reads these as 0 (no digit at all); the check step warns about them.
    for (const zero of ['+', '-', '.', 'Mi']) assert.deepEqual(analyseQuantity(zero), { amount: zero === '-' ? -0 : 0, digits: false }, zero);
  });

  void test('isGoDuration follows time.ParseDuration', () => {
    for (const yes of ['0', '30s', '1m30s', '1.5h', '500ms', '10us', '-5s']) assert.equal(isGoDuration(yes), true, yes);
    for (const no of ['', '30', 's', '1d', '1 s', '30 seconds']) assert.equal(isGoDuration(no), false, no);
  });

  void test('trimQuotesAndSpace', () => {
    assert.equal(trimQuotesAndSpace(`"'a:1'"`), 'a:1');
    assert.equal(trimQuotesAndSpace(` a:1 `), 'a:1');
  });

  void test('editDistance', () => {
    assert.equal(editDistance('enable', 'enabled', 3), 1);
    assert.equal(editDistance('enbaled', 'enabled', 3), 1);
    assert.equal(editDistance('kitten', 'sitting', 5), 3);
    assert.equal(editDistance('a', 'abcdef', 2), 3);
  });
});
