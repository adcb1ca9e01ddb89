import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '@tsdapr/runtime';
import { createInjectorMetrics, type InjectorMetrics } from '../metrics.js';
import { defaultInjectorSettings } from '../patch/injector-settings.js';
import { applyJsonPatch } from '../patch/json-patch.js';
import type { Pod, PatchOperation } from '../patch/pod-types.js';
import { daprEnabled, pod, withAnnotation } from '../testing/pod-fixtures.js';
import { handleAdmissionReview, type AdmissionHandlerDeps } from './admission-handler.js';
import { BUILT_IN_ALLOWED_SERVICE_ACCOUNTS, isAuthorizedUser, serviceAccountMatcher, versionedAuthorizer } from './service-account-matcher.js';

const CONTROLLER = { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'rs-uid', groups: ['system:serviceaccounts'] };
const USER = { username: 'alice', uid: 'alice-uid', groups: ['system:authenticated'] };

function review(object: unknown, options: { userInfo?: object; kind?: string; apiVersion?: string; uid?: string } = {}): object {
  return {
    apiVersion: options.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? 'req-1',
      kind: { group: '', version: 'v1', kind: options.kind ?? 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: options.userInfo ?? CONTROLLER,
      object,
    },
  };
}

function setup(overrides: Partial<AdmissionHandlerDeps> = {}): { deps: AdmissionHandlerDeps; metrics: InjectorMetrics; registry: Registry } {
  const registry = new Registry();
  const metrics = createInjectorMetrics(registry);
  // The UIDs upstream resolves at start for the built-in controllers.
  const authorized = versionedAuthorizer({ serviceAccounts: [], prefixNames: ['tools*:runner'] }, new Set(['olm-uid', 'rs-uid']));
  const deps: AdmissionHandlerDeps = {
    settings: () => defaultInjectorSettings({ trustAnchorsPem: 'PEM' }),
    isAuthorized: (request, minor) => authorized(request.userInfo, minor),
    metrics,
    logger: silentLogger(),
    ...overrides,
  };
  return { deps, metrics, registry };
}

interface Response {
  uid: string;
  allowed: boolean;
  patchType?: string;
  patch?: string;
  warnings?: string[];
  status?: { code?: number; message: string };
}

function responseOf(body: object): Response {
  return (body as { response: Response }).response;
}

function decodedPatch(response: Response): PatchOperation[] {
  return JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8')) as PatchOperation[];
}

async function counter(registry: Registry, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).reduce((sum, v) => sum + Number(v.value), 0);
}

void describe('handleAdmissionReview', () => {
  void test('injects an annotated pod created by a controller, echoing the uid', async () => {
    const { deps, registry } = setup();
    const input = pod('p', daprEnabled('shop-api'));
    const result = handleAdmissionReview(review(input), deps);
    assert.equal(result.status, 200);
    assert.equal(result.outcome, 'injected');
    assert.equal((result.body as { apiVersion: string }).apiVersion, 'admission.k8s.io/v1');
    const response = responseOf(result.body);
    assert.equal(response.uid, 'req-1');
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    const after: Pod = applyJsonPatch(input, decodedPatch(response));
    assert.deepEqual(after.spec?.containers?.map((c) => c.name), ['app', 'daprd']);
    assert.equal(response.warnings, undefined);
    assert.equal(await counter(registry, 'dapr_injector_sidecar_injection_requests_total'), 1);
    assert.equal(await counter(registry, 'dapr_injector_sidecar_injection_succeeded_total'), 1);
  });

  void test('answers v1beta1 in v1beta1', () => {
    const { deps } = setup();
    const result = handleAdmissionReview(review(pod('p', daprEnabled()), { apiVersion: 'admission.k8s.io/v1beta1' }), deps);
    assert.equal((result.body as { apiVersion: string }).apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(responseOf(result.body).patchType, 'JSONPatch');
  });

  void test('allows a pod without dapr.io/enabled untouched, without counting it as an injection', async () => {
    const { deps, registry } = setup();
    const result = handleAdmissionReview(review(pod('p')), deps);
    assert.deepEqual(result.body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'req-1', allowed: true } });
    assert.equal(await counter(registry, 'dapr_injector_sidecar_injection_failed_total'), 0);
  });

  void test('tells the client about a misspelled dapr.io/enabled', () => {
    const { deps } = setup();
    const response = responseOf(handleAdmissionReview(review(pod('p', withAnnotation('dapr.io/enable', 'true'))), deps).body);
    assert.equal(response.allowed, true);
    assert.equal(response.patch, undefined);
    assert.match(response.warnings?.[0] ?? '', /did you mean dapr\.io\/enabled\?/);
  });

  void test('a pod from a user who is not allow-listed is untouched, with a warning and a failure count', async () => {
    const { deps, registry } = setup();
    const result = handleAdmissionReview(review(pod('p', daprEnabled()), { userInfo: USER }), deps);
    const response = responseOf(result.body);
    assert.equal(result.outcome, 'unauthorized');
    assert.equal(response.allowed, true);
    assert.equal(response.patch, undefined);
    assert.match(response.warnings?.[0] ?? '', /alice may not create pods with a daprd sidecar/);
    assert.equal(await counter(registry, 'dapr_injector_sidecar_injection_failed_total'), 1);
  });

  const authorized: [string, object][] = [
    ['system:masters', { username: 'admin', groups: ['system:masters'] }],
    ['a service account UID resolved at startup', { username: 'someone', uid: 'olm-uid' }],
    ['a prefix-names entry, by name', { username: 'system:serviceaccount:tools-a:runner', uid: 'new' }],
  ];
  for (const [what, userInfo] of authorized) {
    void test(`injects for ${what}`, () => {
      const { deps } = setup();
      assert.equal(handleAdmissionReview(review(pod('p', daprEnabled()), { userInfo }), deps).outcome, 'injected');
    });
  }

  void test('allow-list rules follow the sidecar version: 1.18 matches every entry by name, 1.17 only by the UIDs resolved at start', () => {
    const { deps } = setup();
    // A built-in controller whose UID was not listed at start (recreated since, say).
    const userInfo = { username: 'system:serviceaccount:kube-system:job-controller', uid: 'unlisted' };
    const v18 = pod('p', daprEnabled(), withAnnotation('dapr.io/sidecar-image', 'ghcr.io/dapr/daprd:1.18.1'));
    assert.equal(handleAdmissionReview(review(v18, { userInfo }), deps).outcome, 'injected');
    assert.equal(handleAdmissionReview(review(pod('p', daprEnabled()), { userInfo }), deps).outcome, 'unauthorized');
    const v18Injector = setup({ settings: () => defaultInjectorSettings({ trustAnchorsPem: 'PEM', sidecarImage: 'ghcr.io/dapr/daprd:1.18.1' }) });
    assert.equal(handleAdmissionReview(review(pod('p', daprEnabled()), { userInfo }), v18Injector.deps).outcome, 'injected');
  });

  void test('a sidecar of an unknown daprd version: the newest shape, a warning and a metric', async () => {
    const { deps, registry } = setup();
    const result = handleAdmissionReview(review(pod('p', daprEnabled(), withAnnotation('dapr.io/sidecar-image', 'example.com/daprd:edge'))), deps);
    assert.equal(result.outcome, 'injected');
    assert.match(responseOf(result.body).warnings?.[0] ?? '', /"example\.com\/daprd:edge" has no version tag.*as for daprd 1\.18/);
    assert.equal(await counter(registry, 'tsdapr_injector_sidecar_version_fallbacks_total'), 1);
  });

  void test('denies unusable annotations with a message naming them', async () => {
    const { deps, registry } = setup();
    const result = handleAdmissionReview(review(pod('p', daprEnabled(), withAnnotation('dapr.io/app-protocol', 'tcp'))), deps);
    const response = responseOf(result.body);
    assert.equal(result.outcome, 'denied');
    assert.equal(response.allowed, false);
    assert.equal(response.status?.code, 400);
    assert.match(response.status?.message ?? '', /^dapr sidecar injector: dapr\.io\/app-protocol: "tcp" is not an app protocol/);
    assert.equal(await counter(registry, 'tsdapr_injector_annotation_diagnostics_total'), 1);
  });

  void test('returns warnings with the patch', () => {
    const { deps } = setup();
    const response = responseOf(handleAdmissionReview(review(pod('p', daprEnabled(), withAnnotation('dapr.io/app-port', 'eighty'))), deps).body);
    assert.equal(response.patchType, 'JSONPatch');
    assert.deepEqual(response.warnings, ['dapr.io/app-port: "eighty" is not an integer, so the annotation is ignored; write a plain number such as "8080"']);
  });

  void test('reinvocation of an injected pod gives no patch', () => {
    const { deps } = setup();
    const input = pod('p', daprEnabled());
    const first = responseOf(handleAdmissionReview(review(input), deps).body);
    const again = handleAdmissionReview(review(applyJsonPatch(input, decodedPatch(first))), deps);
    assert.equal(again.outcome, 'already_injected');
    assert.equal(responseOf(again.body).patch, undefined);
  });

  void test('allows other kinds, counting them as failures as upstream does', async () => {
    const { deps, registry } = setup();
    const result = handleAdmissionReview(review({ metadata: { name: 'x' } }, { kind: 'Service' }), deps);
    assert.equal(result.outcome, 'not_pod');
    assert.equal(responseOf(result.body).allowed, true);
    assert.equal(await counter(registry, 'dapr_injector_sidecar_injection_failed_total'), 1);
  });

  void test('a pod of the wrong shape is allowed with a warning, not a crash', () => {
    const { deps } = setup();
    const result = handleAdmissionReview(review({ metadata: { annotations: { 'dapr.io/enabled': 5 } }, spec: { containers: 'many' } }), deps);
    assert.equal(result.outcome, 'invalid_pod');
    assert.equal(responseOf(result.body).allowed, true);
    assert.match(responseOf(result.body).warnings?.[0] ?? '', /could not read this pod/);
  });

  void test('null lists from Go clients are accepted', () => {
    const { deps } = setup();
    const input = { metadata: { name: 'p', annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'a' }, labels: null }, spec: { containers: [{ name: 'app', env: null }], volumes: null } };
    assert.equal(handleAdmissionReview(review(input), deps).outcome, 'injected');
  });

  const malformed: [string, unknown][] = [
    ['a JSON array', []],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
    ['a wrong apiVersion', { apiVersion: 'admission.k8s.io/v2', kind: 'AdmissionReview', request: { uid: 'a', kind: { kind: 'Pod' } } }],
    ['no uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { kind: 'Pod' } } }],
  ];
  for (const [what, body] of malformed) {
    void test(`refuses ${what} with 400 and a reason`, () => {
      const { deps } = setup();
      const result = handleAdmissionReview(body, deps);
      assert.equal(result.status, 400);
      assert.match((result.body as { error: string }).error, /^not an AdmissionReview: /);
    });
  }

  void test('an internal error allows the pod without a patch, logged and counted', async () => {
    const { deps, registry } = setup({
      settings: () => {
        throw new Error('boom');
      },
    });
    const result = handleAdmissionReview(review(pod('p', daprEnabled('x'))), deps);
    const response = responseOf(result.body);
    assert.equal(result.outcome, 'error');
    assert.equal(response.allowed, true);
    assert.equal(response.patch, undefined);
    assert.match(response.warnings?.[0] ?? '', /the sidecar injector failed \(boom\)/);
    const failed = (await registry.getMetricsAsJSON()).find((m) => m.name === 'dapr_injector_sidecar_injection_failed_total');
    assert.deepEqual(failed?.values.map((v) => v.labels), [{ app_id: 'x', reason: 'internal' }]);
  });

  void test('huge annotations never produce huge warnings', () => {
    const { deps } = setup();
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`dapr.io/unknown-${i}`, 'x'.repeat(10_000)]));
    const input = pod('p', daprEnabled(), (p) => {
      p.metadata.annotations = { ...p.metadata.annotations, ...many };
    });
    const response = responseOf(handleAdmissionReview(review(input), deps).body);
    assert.equal(response.warnings?.length, 21);
    assert.ok(response.warnings.every((w) => w.length <= 256));
  });
});

void describe('service account matching', () => {
  const matcher = serviceAccountMatcher([...BUILT_IN_ALLOWED_SERVICE_ACCOUNTS, 'team-*:deployer', 'ci:runner-?', 'ops:[ab]*']);
  const cases: [string, boolean][] = [
    ['system:serviceaccount:kube-system:replicaset-controller', true],
    ['system:serviceaccount:kube-system:statefulset-controller', true],
    ['system:serviceaccount:kube-system:default', false],
    ['system:serviceaccount:team-a:deployer', true],
    ['system:serviceaccount:team-a/x:deployer', false],
    ['system:serviceaccount:ci:runner-1', true],
    ['system:serviceaccount:ci:runner-12', false],
    ['system:serviceaccount:ops:alpha', true],
    ['system:serviceaccount:ops:gamma', false],
    ['kube-system:replicaset-controller', false],
    ['system:serviceaccount:kube-system', false],
  ];
  for (const [username, expected] of cases) {
    void test(`${username} → ${expected}`, () => {
      assert.equal(isAuthorizedUser({ username }, matcher, new Set()), expected);
    });
  }

  void test('malformed patterns are refused with their text', () => {
    assert.throws(() => serviceAccountMatcher(['no-colon']), /invalid service account pattern "no-colon"/);
    assert.throws(() => serviceAccountMatcher(['a:b:c']), /exactly one ":"/);
    assert.throws(() => serviceAccountMatcher(['ns:[abc']), /malformed glob/);
    assert.doesNotThrow(() => serviceAccountMatcher(['', '  ']));
  });
});
