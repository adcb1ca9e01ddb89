/**
 * The Kubernetes validator against a scripted API server: the refusals a
 * real cluster does not reach on demand. Here the API server accepts the
 * token of a pod that has since been recreated under the same name (a real
 * one refuses it itself once the bound pod is gone, see the integration test
 * "the token of a deleted pod fails, ..."); sentry must still refuse it
 * (`pod_uid_mismatch`), as the README promises.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { InformerCache } from '@tsdapr/kube';
import { silentLogger } from '@tsdapr/runtime';
import type { ConfigurationObject } from './kubernetes-identity.js';
import { createKubernetesValidator } from './kubernetes-validator.js';
import { request, unsignedJwt } from './test-support.js';
import { ValidationError, type Validator } from './validator.js';

const NAMESPACE = 'default';
const SA = 'app-sa';
const POD = 'app';
const OLD_UID = '11111111-1111-1111-1111-111111111111';
const NEW_UID = '22222222-2222-2222-2222-222222222222';

function pod(uid: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: POD, namespace: NAMESPACE, uid, annotations: { 'dapr.io/app-id': 'app-1' } },
    spec: { serviceAccountName: SA, containers: [{ name: 'app', image: 'app' }] },
  };
}

/** A bound service-account token as the API server issues it (only the claims matter: the TokenReview vouches for it). */
function boundToken(podUid: string): string {
  return unsignedJwt({
    aud: ['dapr.io/sentry'],
    sub: `system:serviceaccount:${NAMESPACE}:${SA}`,
    'kubernetes.io': { namespace: NAMESPACE, pod: { name: POD, uid: podUid }, serviceaccount: { name: SA, uid: 'sa-uid' } },
  });
}

/** A cache that holds what the test puts in it and is never run. */
function fakeCache<T extends { metadata?: { name?: string; namespace?: string } }>(...objects: T[]): InformerCache<T> {
  const key = (namespace: string, name: string): string => `${namespace}/${name}`;
  const items = new Map(objects.map((o) => [key(o.metadata?.namespace ?? '', o.metadata?.name ?? ''), o]));
  return {
    name: 'fake',
    runner: () => Promise.resolve(),
    ready: () => true,
    waitUntilReady: () => Promise.resolve(true),
    get: (namespace, name) => items.get(key(namespace, name)),
    list: () => [...items.values()],
    onChange: () => () => undefined,
  };
}

interface FakeApiServer {
  readonly url: string;
  /** The pod GETs the validator made. */
  readonly podReads: () => number;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Authenticates every token as the API server would a valid bound token
 * (the review's `extra` carries the pod UID the token was issued for), and
 * serves `current` as the pod of that name.
 */
async function fakeApiServer(current: V1Pod): Promise<FakeApiServer> {
  let podReads = 0;
  const server = createServer((req, res) => {
    void (async () => {
      const text = await body(req);
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url?.startsWith('/apis/authentication.k8s.io/v1/tokenreviews')) {
        const review = JSON.parse(text) as { spec: { token: string; audiences: string[] } };
        const payload = JSON.parse(Buffer.from(review.spec.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
          'kubernetes.io': { pod: { name: string; uid: string } };
        };
        res.statusCode = 201;
        res.end(
          JSON.stringify({
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: review.spec,
            status: {
              authenticated: true,
              audiences: ['dapr.io/sentry'],
              user: {
                username: `system:serviceaccount:${NAMESPACE}:${SA}`,
                uid: 'sa-uid',
                groups: ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'],
                extra: {
                  'authentication.kubernetes.io/pod-name': [payload['kubernetes.io'].pod.name],
                  'authentication.kubernetes.io/pod-uid': [payload['kubernetes.io'].pod.uid],
                },
              },
            },
          }),
        );
        return;
      }
      if (req.method === 'GET' && req.url?.split('?')[0] === `/api/v1/namespaces/${NAMESPACE}/pods/${POD}`) {
        podReads += 1;
        res.end(JSON.stringify(current));
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: `no ${req.method} ${req.url}` }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    podReads: () => podReads,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function validatorFor(server: FakeApiServer, cached: V1Pod[]): Validator {
  const kubeConfig = new KubeConfig();
  // client-node allows http: only with skipTLSVerify.
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: server.url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'sentry' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return createKubernetesValidator({
    kubeConfig,
    sentryNamespace: 'dapr-system',
    controlPlaneTrustDomain: 'cluster.local',
    logger: silentLogger(),
    podCache: fakeCache(...cached),
    configurationCache: fakeCache<ConfigurationObject>(),
  });
}

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

const req = (token: string) => request({ id: 'app-1', namespace: NAMESPACE, token });

test('the token of the pod itself is accepted (the fixture is otherwise valid)', async () => {
  const server = await fakeApiServer(pod(OLD_UID));
  try {
    const identity = await validatorFor(server, [pod(OLD_UID)]).validate(req(boundToken(OLD_UID)));
    assert.equal(identity.id, 'app-1');
    assert.equal(server.podReads(), 0, 'served from the cache');
  } finally {
    await server.close();
  }
});

test('an accepted token of a pod since recreated under the same name is refused: pod_uid_mismatch (cache has the new pod)', async () => {
  const server = await fakeApiServer(pod(NEW_UID));
  try {
    const refused = await refusal(validatorFor(server, [pod(NEW_UID)]).validate(req(boundToken(OLD_UID))));
    assert.equal(refused.code, 'pod_uid_mismatch');
    assert.ok(refused.message.includes(OLD_UID) && refused.message.includes(NEW_UID), refused.message);
    assert.equal(server.podReads(), 1, 'the cache may lag, so the API is asked before refusing');
  } finally {
    await server.close();
  }
});

test('an accepted token of a pod since recreated under the same name is refused: pod_uid_mismatch (pod read from the API)', async () => {
  const server = await fakeApiServer(pod(NEW_UID));
  try {
    const refused = await refusal(validatorFor(server, []).validate(req(boundToken(OLD_UID))));
    assert.equal(refused.code, 'pod_uid_mismatch');
    assert.equal(server.podReads(), 1);
  } finally {
    await server.close();
  }
});

test('a cache still holding an older pod of that name does not refuse the token of the current pod', async () => {
  const server = await fakeApiServer(pod(NEW_UID));
  try {
    const identity = await validatorFor(server, [pod(OLD_UID)]).validate(req(boundToken(NEW_UID)));
    assert.equal(identity.id, 'app-1');
    assert.equal(server.podReads(), 1);
  } finally {
    await server.close();
  }
});
