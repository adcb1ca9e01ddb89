/**
 * The Kubernetes validator against a real kube-apiserver: real TokenReviews
 * of real bound service-account tokens, real pods and a Configuration CRD.
 * Needs TSDAPR_TEST_KUBECONFIG (set by scripts/run-tests.mjs, or by hand
 * from `pnpm cluster up`); without it every test here fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1CustomResourceDefinition,
  type V1Pod,
} from '@kubernetes/client-node';
import { createInformerCache, isAlreadyExists, isNotFound, loadKubeConfig } from '@tsdapr/kube';
import { silentLogger } from '@tsdapr/runtime';
import { createKubernetesValidator } from './kubernetes-validator.js';
import type { SignRequestIdentity, Validator } from './validator.js';

const KUBECONFIG_ENV = 'TSDAPR_TEST_KUBECONFIG';
const CONTROL_PLANE_TD = 'cluster.local';
const SA = 'app-sa';

interface Fixture {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly namespace: string;
  readonly validator: Validator;
  readonly sentryAudience: string;
  token(pod: string, audiences?: string[]): Promise<string>;
  createPod(name: string, annotations?: Record<string, string>): Promise<V1Pod>;
}

let fixture: Fixture | undefined;
let setupError: unknown;
const stop = new AbortController();
let running: Promise<void> | undefined;
let createdCrd = false;

function kubeconfigPath(): string {
  const path = process.env[KUBECONFIG_ENV];
  if (!path) {
    throw new Error(`${KUBECONFIG_ENV} is not set: run this through scripts/run-tests.mjs ("pnpm test"), or point it at the kubeconfig of "pnpm cluster up"`);
  }
  return path;
}

const CONFIGURATION_CRD: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'configurations.dapr.io' },
  spec: {
    group: 'dapr.io',
    scope: 'Namespaced',
    names: { kind: 'Configuration', listKind: 'ConfigurationList', plural: 'configurations', singular: 'configuration' },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        // client-node's model spells the extension x_kubernetes_preserve_unknown_fields and drops unknown keys.
        schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
      },
    ],
  },
};

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: last });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ensureConfigurationCrd(kc: KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  try {
    await ext.createCustomResourceDefinition({ body: CONFIGURATION_CRD });
    createdCrd = true;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  await eventually('configurations.dapr.io to be established', async () => {
    const crd = await ext.readCustomResourceDefinition({ name: 'configurations.dapr.io' });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  });
}

async function setup(): Promise<Fixture> {
  const kc = loadKubeConfig(kubeconfigPath());
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await ensureConfigurationCrd(kc);

  const namespace = `sentry-validator-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'tsdapr.io/test': 'true' } } } });
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: SA } } });
  await eventually('the Configuration to be created', async () =>
    custom.createNamespacedCustomObject({
      group: 'dapr.io',
      version: 'v1alpha1',
      namespace,
      plural: 'configurations',
      body: {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Configuration',
        metadata: { name: 'tdconfig' },
        spec: { accessControl: { defaultAction: 'allow', trustDomain: 'example.org' } },
      },
    }) as Promise<unknown>,
  );

  const createPod = (name: string, annotations: Record<string, string> = {}): Promise<V1Pod> =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, annotations },
        spec: { serviceAccountName: SA, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
      },
    });

  await createPod('with-app-id', { 'dapr.io/app-id': 'myapp' });
  await createPod('no-app-id-7f9c');
  await createPod('with-config', { 'dapr.io/app-id': 'configured', 'dapr.io/config': 'tdconfig' });
  await createPod('empty-config', { 'dapr.io/app-id': 'emptycfg', 'dapr.io/config': '' });
  await createPod('missing-config', { 'dapr.io/app-id': 'missingcfg', 'dapr.io/config': 'no-such-config' });
  await createPod('dapr-placement-0', { 'dapr.io/control-plane': 'placement' });

  // The test namespace doubles as sentry's namespace, for the control-plane case.
  const sentryAudience = `spiffe://${CONTROL_PLANE_TD}/ns/${namespace}/dapr-sentry`;
  const validator = createKubernetesValidator({ kubeConfig: kc, sentryNamespace: namespace, controlPlaneTrustDomain: CONTROL_PLANE_TD, logger: silentLogger() });
  running = validator.runner?.(stop.signal);
  await eventually('the validator caches to sync', async () => (validator.ready() ? true : undefined));

  const token = async (pod: string, audiences: string[] = ['dapr.io/sentry']): Promise<string> => {
    const current = await core.readNamespacedPod({ namespace, name: pod });
    const response = await core.createNamespacedServiceAccountToken({
      name: SA,
      namespace,
      body: {
        spec: {
          audiences,
          expirationSeconds: 600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod, uid: current.metadata?.uid ?? '' },
        },
      },
    });
    return response.status?.token ?? '';
  };

  return { kc, core, namespace, validator, sentryAudience, token, createPod };
}

before(async () => {
  try {
    fixture = await setup();
  } catch (err) {
    setupError = err;
  }
});

after(async () => {
  stop.abort();
  await running;
  if (fixture) await fixture.core.deleteNamespace({ name: fixture.namespace }).catch(() => undefined);
  if (createdCrd && fixture) {
    await fixture.kc
      .makeApiClient(ApiextensionsV1Api)
      .deleteCustomResourceDefinition({ name: 'configurations.dapr.io' })
      .catch(() => undefined);
  }
});

/** The fixture, or the reason there is none (so that every test fails rather than skips). */
function f(): Fixture {
  if (!fixture) throw setupError instanceof Error ? setupError : new Error(`setup did not run: ${String(setupError)}`);
  return fixture;
}

function req(overrides: Partial<SignRequestIdentity>): SignRequestIdentity {
  return { id: 'myapp', namespace: f().namespace, token: '', trustDomain: '', tokenValidator: 'KUBERNETES', ...overrides };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the validator to refuse');
}

test('the caches sync and the validator reports ready', () => {
  assert.equal(f().validator.ready(), true);
});

test('right id from dapr.io/app-id: ok with trust domain public (legacy audience)', async () => {
  const token = await f().token('with-app-id');
  const identity = await f().validator.validate(req({ id: 'myapp', token, trustDomain: 'ignored.example' }));
  assert.deepEqual(identity, {
    trustDomain: 'public',
    namespace: f().namespace,
    id: 'myapp',
    spiffeId: `spiffe://public/ns/${f().namespace}/myapp`,
  });
});

test('the sentry SPIFFE ID audience (what daprd 1.13+ uses) is accepted', async () => {
  const token = await f().token('with-app-id', [f().sentryAudience]);
  assert.equal((await f().validator.validate(req({ token }))).id, 'myapp');
});

test('a pod without dapr.io/app-id is known by its name', async () => {
  const token = await f().token('no-app-id-7f9c');
  assert.equal((await f().validator.validate(req({ id: 'no-app-id-7f9c', token }))).trustDomain, 'public');
  const wrong = await refusal(f().validator.validate(req({ id: 'no-app-id', token })));
  assert.equal(wrong.code, 'app_id_mismatch');
});

test("trust domain from the pod's Configuration", async () => {
  const token = await f().token('with-config');
  const identity = await f().validator.validate(req({ id: 'configured', token }));
  assert.equal(identity.trustDomain, 'example.org');
  assert.equal(identity.spiffeId, `spiffe://example.org/ns/${f().namespace}/configured`);
});

test('wrong id: app_id_mismatch with the upstream message', async () => {
  const token = await f().token('with-app-id');
  const refused = await refusal(f().validator.validate(req({ id: 'someone-else', token })));
  assert.deepEqual(refused, { code: 'app_id_mismatch', message: 'app-id mismatch. expected: myapp, received: someone-else' });
});

test('another namespace in the request: namespace_mismatch', async () => {
  const token = await f().token('with-app-id');
  const refused = await refusal(f().validator.validate(req({ namespace: 'default', token })));
  assert.deepEqual(refused, { code: 'namespace_mismatch', message: 'namespace mismatch; received namespace: default' });
});

test('a token for another audience is not authenticated', async () => {
  const token = await f().token('with-app-id', ['some-other-audience']);
  const refused = await refusal(f().validator.validate(req({ token })));
  assert.equal(refused.code, 'token_not_authenticated');
  assert.ok(!refused.message.includes(token));
});

test('garbage and empty tokens are refused', async () => {
  const garbage = await refusal(f().validator.validate(req({ token: 'not-a-token' })));
  assert.equal(garbage.code, 'token_not_authenticated');
  assert.ok(!garbage.message.includes('not-a-token'));
  const forged = await f().token('with-app-id');
  const [h, , s] = forged.split('.');
  const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: 'system:serviceaccount:x:y' })).toString('base64url')}.${s}`;
  assert.equal((await refusal(f().validator.validate(req({ token: tampered })))).code, 'token_not_authenticated');
  assert.equal((await refusal(f().validator.validate(req({ token: '' })))).code, 'token_missing');
});

test('a token not bound to a pod has no pod claim', async () => {
  const response = await f().core.createNamespacedServiceAccountToken({
    name: SA,
    namespace: f().namespace,
    body: { spec: { audiences: ['dapr.io/sentry'], expirationSeconds: 600 } },
  });
  const refused = await refusal(f().validator.validate(req({ token: response.status?.token ?? '' })));
  assert.equal(refused.code, 'token_pod_claim_missing');
  assert.match(refused.message, /^kubernetes\.io\/pod\/name claim is missing/);
});

test('the token of a deleted pod fails, also after a pod of the same name is created again', async () => {
  await f().createPod('doomed', { 'dapr.io/app-id': 'doomed' });
  const old = await f().token('doomed');
  assert.equal((await f().validator.validate(req({ id: 'doomed', token: old }))).id, 'doomed');

  await f().core.deleteNamespacedPod({ namespace: f().namespace, name: 'doomed', gracePeriodSeconds: 0 });
  await eventually('the pod to be gone', async () => {
    try {
      await f().core.readNamespacedPod({ namespace: f().namespace, name: 'doomed' });
      return undefined;
    } catch (err) {
      return isNotFound(err) ? true : undefined;
    }
  });
  const gone = await refusal(f().validator.validate(req({ id: 'doomed', token: old })));
  assert.ok(['token_not_authenticated', 'pod_not_found'].includes(gone.code), gone.code);

  // Same name, new UID: the old token must not pass for the new pod; the new pod's own token must.
  // A real API server normally refuses the old token itself (its token authenticator checks that the
  // bound pod exists with the claimed UID: token_not_authenticated), so this rarely reaches sentry's own
  // pod_uid_mismatch check; only when the API server's pod cache still holds the old pod does the token
  // pass the TokenReview. kubernetes-validator.test.ts proves that refusal with a scripted TokenReview.
  await f().createPod('doomed', { 'dapr.io/app-id': 'doomed' });
  const recreated = await refusal(f().validator.validate(req({ id: 'doomed', token: old })));
  assert.ok(['token_not_authenticated', 'pod_uid_mismatch'].includes(recreated.code), recreated.code);
  const fresh = await f().token('doomed');
  assert.equal((await f().validator.validate(req({ id: 'doomed', token: fresh }))).id, 'doomed');
});

test('a pod the cache has not seen is read from the API (upstream fails here)', async () => {
  // A validator whose pod cache never runs: every lookup misses.
  const emptyPodCache = createInformerCache<V1Pod>({
    kubeConfig: f().kc,
    name: 'pods-never-started',
    path: '/api/v1/pods',
    logger: silentLogger(),
    list: () => Promise.reject(new Error('never started')),
  });
  const validator = createKubernetesValidator({
    kubeConfig: f().kc,
    sentryNamespace: f().namespace,
    controlPlaneTrustDomain: CONTROL_PLANE_TD,
    logger: silentLogger(),
    podCache: emptyPodCache,
    configurationCache: createInformerCache({
      kubeConfig: f().kc,
      name: 'configurations-never-started',
      path: '/apis/dapr.io/v1alpha1/configurations',
      logger: silentLogger(),
      list: () => Promise.reject(new Error('never started')),
    }),
  });
  assert.equal(validator.runner, undefined);
  assert.equal(validator.ready(), false);
  await f().createPod('just-created', { 'dapr.io/app-id': 'fresh', 'dapr.io/config': 'tdconfig' });
  const identity = await validator.validate(req({ id: 'fresh', token: await f().token('just-created') }));
  assert.equal(identity.trustDomain, 'example.org');
});

test('a present but empty dapr.io/config fails with a message that says how to fix it', async () => {
  const token = await f().token('empty-config');
  const refused = await refusal(f().validator.validate(req({ id: 'emptycfg', token })));
  assert.equal(refused.code, 'configuration_annotation_empty');
  assert.match(refused.message, /empty "dapr\.io\/config" annotation/);
  assert.match(refused.message, /remove the annotation/);
});

test('a dapr.io/config naming a missing Configuration: configuration_not_found', async () => {
  const token = await f().token('missing-config');
  const refused = await refusal(f().validator.validate(req({ id: 'missingcfg', token })));
  assert.equal(refused.code, 'configuration_not_found');
  assert.match(refused.message, /no-such-config/);
});

test("a control-plane pod in sentry's namespace gets dapr-<name> in the control-plane trust domain", async () => {
  const token = await f().token('dapr-placement-0', [f().sentryAudience]);
  const identity = await f().validator.validate(req({ id: 'dapr-placement', token }));
  assert.equal(identity.spiffeId, `spiffe://${CONTROL_PLANE_TD}/ns/${f().namespace}/dapr-placement`);
  assert.equal((await refusal(f().validator.validate(req({ id: 'dapr-placement-0', token })))).code, 'app_id_mismatch');
});
