import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { AuthenticationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, pollUntil, testKubeConfig, requireTestCluster, type TestNamespace } from '@tsdapr/e2e-harness';
import { createCsr, generateCaBundle, generateKeyPair } from '@tsdapr/pki';
import { metricValue, sentryClient, startSentryProcess, type SentryClient, type SentryProcess } from './test-support/sentry-process.js';

const TRUST_DOMAIN = 'cluster.local';

function splitPem(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

/** Verifies leaf → issuer chain → one of the anchors with Node's own X.509. */
function verifyChain(chainPem: string, anchorsPem: string, at = new Date()): X509Certificate {
  const [leaf, ...intermediates] = splitPem(chainPem);
  assert.ok(leaf, 'a leaf certificate');
  let current = leaf;
  for (const next of intermediates) {
    assert.ok(current.checkIssued(next) && current.verify(next.publicKey), `${current.subject || '(leaf)'} is signed by ${next.subject}`);
    current = next;
  }
  const anchor = splitPem(anchorsPem).find((root) => current.checkIssued(root) && current.verify(root.publicKey));
  assert.ok(anchor, 'the chain ends at a trust anchor');
  for (const cert of [leaf, ...intermediates]) assert.ok(new Date(cert.validFrom) <= at && at <= new Date(cert.validTo), 'valid now');
  return leaf;
}

async function tokenFor(kubeConfig: KubeConfig, namespace: string, serviceAccount: string, pod: { name: string; uid: string }, audiences = ['dapr.io/sentry']): Promise<string> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences, expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.name, uid: pod.uid } } },
  });
  return request.status?.token ?? '';
}

async function createPod(kubeConfig: KubeConfig, namespace: string, name: string, annotations: Record<string, string>, serviceAccount = 'default'): Promise<{ name: string; uid: string }> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const pod = await core.createNamespacedPod({
    namespace,
    body: { metadata: { name, annotations }, spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
  });
  return { name, uid: pod.metadata?.uid ?? '' };
}

function csrPem(algorithm: 'ecdsa-p256' | 'ed25519' = 'ecdsa-p256'): Buffer {
  return Buffer.from(createCsr(generateKeyPair(algorithm).privateKey));
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('expected the request to be refused');
}

describe('sentry in Kubernetes mode against the real API server', () => {
  let kubeConfig: KubeConfig;
  let ns: TestNamespace;
  let sentry: SentryProcess;
  let client: SentryClient;
  let anchorsPem: string;

  before(async () => {
    requireTestCluster();
    kubeConfig = testKubeConfig();
    ns = await createTestNamespace('sentry');
    sentry = await startSentryProcess({
      args: ['--mode', 'kubernetes', '--trust-domain', TRUST_DOMAIN, '--kubeconfig', process.env['TSDAPR_TEST_KUBECONFIG'] ?? ''],
      env: { NAMESPACE: ns.name },
    });
    const configMap = await kubeConfig.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: ns.name, name: 'dapr-trust-bundle' });
    anchorsPem = configMap.data?.['ca.crt'] ?? '';
    client = sentryClient(`127.0.0.1:${sentry.grpcPort}`, anchorsPem, `spiffe://${TRUST_DOMAIN}/ns/${ns.name}/dapr-sentry`);
  });

  after(async () => {
    client?.close();
    await sentry?.stop();
    await ns?.cleanup();
  });

  test('bootstraps the trust bundle into the Secret and ConfigMap', async () => {
    const secret = await kubeConfig.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: ns.name, name: 'dapr-trust-bundle' });
    for (const key of ['ca.crt', 'issuer.crt', 'issuer.key']) assert.ok(secret.data?.[key], `Secret has ${key}`);
    assert.equal(Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString(), anchorsPem);
  });

  test('a pod token with the sentry audience gets a SPIFFE certificate that chains to the anchors', async () => {
    const pod = await createPod(kubeConfig, ns.name, 'orders-1', { 'dapr.io/app-id': 'orders' });
    const token = await tokenFor(kubeConfig, ns.name, 'default', pod);
    for (const algorithm of ['ecdsa-p256', 'ed25519'] as const) {
      const before = Date.now();
      const response = await client.sign({ id: 'orders', namespace: ns.name, token, token_validator: 'KUBERNETES', certificate_signing_request: csrPem(algorithm) });
      const leaf = verifyChain(response.workload_certificate.toString(), anchorsPem);
      assert.equal(leaf.subjectAltName, `URI:spiffe://public/ns/${ns.name}/orders`);
      assert.ok(!leaf.subject, 'empty subject');
      assert.equal(leaf.ca, false);
      assert.deepEqual(leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      const notBefore = new Date(leaf.validFrom).getTime();
      const notAfter = new Date(leaf.validTo).getTime();
      assert.ok(Math.abs(notBefore - (before - 15 * 60_000)) < 5 * 60_000, 'not-before backdated by the 15m skew');
      assert.ok(Math.abs(notAfter - (before + 24 * 3_600_000)) < 5 * 60_000, '24h lifetime');
      assert.equal(Number(response.valid_until.seconds), Math.floor(notAfter / 1000));
      assert.equal(response.trust_chain_certificates[0]?.toString(), anchorsPem);
    }
  });

  test('a pod without dapr.io/app-id is known by its name; a Configuration sets the trust domain', async () => {
    const plain = await createPod(kubeConfig, ns.name, 'worker-7', {});
    const response = await client.sign({ id: 'worker-7', namespace: ns.name, token: await tokenFor(kubeConfig, ns.name, 'default', plain), token_validator: 'KUBERNETES', certificate_signing_request: csrPem() });
    assert.equal(verifyChain(response.workload_certificate.toString(), anchorsPem).subjectAltName, `URI:spiffe://public/ns/${ns.name}/worker-7`);
  });

  describe('bad input is refused with a specific status, reason and no certificate', () => {
    let token: string;
    let podRef: { name: string; uid: string };
    before(async () => {
      podRef = await createPod(kubeConfig, ns.name, 'checkout-1', { 'dapr.io/app-id': 'checkout' });
      token = await tokenFor(kubeConfig, ns.name, 'default', podRef);
    });

    const cases: Array<{ name: string; request: () => Promise<Record<string, unknown>>; code: status; message: RegExp; reason: string }> = [
      { name: 'malformed CSR bytes', request: async () => ({ certificate_signing_request: Buffer.from('not a csr') }), code: status.INVALID_ARGUMENT, message: /PEM|CSR|certificate request/i, reason: 'csr_not_pem' },
      { name: 'empty CSR', request: async () => ({ certificate_signing_request: Buffer.alloc(0) }), code: status.INVALID_ARGUMENT, message: /empty|missing/i, reason: 'csr_empty' },
      {
        name: 'CSR whose signature does not verify',
        request: async () => {
          const pem = csrPem().toString();
          const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
          der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff;
          return { certificate_signing_request: Buffer.from(`-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`) };
        },
        code: status.INVALID_ARGUMENT,
        message: /signature/i,
        reason: 'csr_signature_invalid',
      },
      {
        name: 'RSA-512 key',
        request: async () => {
          // Made by openssl: our own CSR builder refuses such a key.
          const pem = execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:512', '-nodes', '-subj', '/', '-keyout', '/dev/null'], { stdio: ['ignore', 'pipe', 'ignore'] });
          return { certificate_signing_request: pem };
        },
        code: status.INVALID_ARGUMENT,
        message: /RSA|key/i,
        reason: 'csr_key_unsupported',
      },
      { name: 'id that is not the pod app-id', request: async () => ({ id: 'payments' }), code: status.PERMISSION_DENIED, message: /app-id mismatch. expected: checkout, received: payments/, reason: 'app_id_mismatch' },
      { name: 'another namespace', request: async () => ({ namespace: 'default' }), code: status.PERMISSION_DENIED, message: /namespace mismatch/, reason: 'namespace_mismatch' },
      { name: 'a token for another audience', request: async () => ({ token: await tokenFor(kubeConfig, ns.name, 'default', podRef, ['https://kubernetes.default.svc.cluster.local']) }), code: status.PERMISSION_DENIED, message: /token/i, reason: 'token_not_authenticated' },
      { name: 'a forged token', request: async () => ({ token: `${token.slice(0, -10)}AAAAAAAAAA` }), code: status.PERMISSION_DENIED, message: /token/i, reason: 'token_not_authenticated' },
      { name: 'no token', request: async () => ({ token: '' }), code: status.PERMISSION_DENIED, message: /token/i, reason: 'token_missing' },
      { name: 'a request far larger than any CSR', request: async () => ({ certificate_signing_request: Buffer.alloc(64 * 1024, 0x41) }), code: status.INVALID_ARGUMENT, message: /limit/, reason: 'request_too_large' },
      { name: 'an id with dots', request: async () => ({ id: 'a.b' }), code: status.PERMISSION_DENIED, message: /dot|\./, reason: 'id_invalid' },
    ];

    for (const testCase of cases) {
      test(testCase.name, async () => {
        const failuresBefore = metricValue(await sentry.metrics(), 'dapr_sentry_cert_sign_failure_total', { reason: testCase.reason });
        const successesBefore = metricValue(await sentry.metrics(), 'dapr_sentry_cert_sign_success_total');
        const err = await rejection(client.sign({ id: 'checkout', namespace: ns.name, token, token_validator: 'KUBERNETES', certificate_signing_request: csrPem(), ...(await testCase.request()) }));
        assert.equal(err.code, testCase.code, err.details);
        assert.match(err.details, testCase.message);
        const metrics = await sentry.metrics();
        assert.equal(metricValue(metrics, 'dapr_sentry_cert_sign_failure_total', { reason: testCase.reason }), failuresBefore + 1, `failure counted with reason ${testCase.reason}`);
        assert.equal(metricValue(metrics, 'dapr_sentry_cert_sign_success_total'), successesBefore, 'nothing issued');
      });
    }

    test('the token of a deleted pod', async () => {
      const doomed = await createPod(kubeConfig, ns.name, 'doomed-1', { 'dapr.io/app-id': 'doomed' });
      const doomedToken = await tokenFor(kubeConfig, ns.name, 'default', doomed);
      await kubeConfig.makeApiClient(CoreV1Api).deleteNamespacedPod({ namespace: ns.name, name: 'doomed-1', gracePeriodSeconds: 0 });
      // A bound token dies with its pod; TokenReview says so once the pod is gone.
      await pollUntil('pod deleted', async () => {
        try {
          await kubeConfig.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: ns.name, name: 'doomed-1' });
          return undefined;
        } catch {
          return true;
        }
      }, { timeoutMs: 20_000 });
      const err = await rejection(client.sign({ id: 'doomed', namespace: ns.name, token: doomedToken, token_validator: 'KUBERNETES', certificate_signing_request: csrPem() }));
      assert.equal(err.code, status.PERMISSION_DENIED);
    });

    test('a trust domain the pod Configuration does not allow is not granted', async () => {
      // The request asks for a trust domain; in Kubernetes mode it is ignored and
      // the pod's own (here: public) is what the certificate carries.
      const response = await client.sign({ id: 'checkout', namespace: ns.name, token, token_validator: 'KUBERNETES', trust_domain: 'evil.example', certificate_signing_request: csrPem() });
      assert.equal(verifyChain(response.workload_certificate.toString(), anchorsPem).subjectAltName, `URI:spiffe://public/ns/${ns.name}/checkout`);
    });

    test('TokenReview really is what decides (sanity check of the harness)', async () => {
      const review = await kubeConfig.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token, audiences: ['dapr.io/sentry'] } } });
      assert.equal(review.status?.authenticated, true);
    });
  });
});

describe('two sentries bootstrapping one namespace at once', () => {
  test('converge on one trust bundle', async () => {
    requireTestCluster();
    const kubeConfig = testKubeConfig();
    const ns = await createTestNamespace('sentry-race');
    const args = ['--mode', 'kubernetes', '--trust-domain', TRUST_DOMAIN, '--kubeconfig', process.env['TSDAPR_TEST_KUBECONFIG'] ?? ''];
    const [a, b] = await Promise.all([startSentryProcess({ args, env: { NAMESPACE: ns.name } }), startSentryProcess({ args, env: { NAMESPACE: ns.name } })]);
    try {
      const core = kubeConfig.makeApiClient(CoreV1Api);
      const anchors = (await core.readNamespacedConfigMap({ namespace: ns.name, name: 'dapr-trust-bundle' })).data?.['ca.crt'] ?? '';
      const secretAnchors = Buffer.from((await core.readNamespacedSecret({ namespace: ns.name, name: 'dapr-trust-bundle' })).data?.['ca.crt'] ?? '', 'base64').toString();
      assert.equal(anchors, secretAnchors);
      assert.equal(splitPem(anchors).length, 1, 'one root');
      // Both serve certificates from the same root: each accepts a client pinned to it.
      for (const sentry of [a, b]) {
        const client = sentryClient(`127.0.0.1:${sentry.grpcPort}`, anchors, `spiffe://${TRUST_DOMAIN}/ns/${ns.name}/dapr-sentry`);
        const pod = await createPod(kubeConfig, ns.name, `p-${sentry.grpcPort}`, { 'dapr.io/app-id': 'race' });
        const response = await client.sign({ id: 'race', namespace: ns.name, token: await tokenFor(kubeConfig, ns.name, 'default', pod), token_validator: 'KUBERNETES', certificate_signing_request: csrPem() });
        verifyChain(response.workload_certificate.toString(), anchors);
        client.close();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await ns.cleanup();
    }
  });
});

describe('root rotation without a restart', () => {
  test('add a second root, switch the issuer to it, retire the first: verification never breaks', async () => {
    requireTestCluster();
    const kubeConfig = testKubeConfig();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const ns = await createTestNamespace('sentry-rotate');
    const sentryId = `spiffe://${TRUST_DOMAIN}/ns/${ns.name}/dapr-sentry`;
    const sentry = await startSentryProcess({ args: ['--mode', 'kubernetes', '--trust-domain', TRUST_DOMAIN, '--kubeconfig', process.env['TSDAPR_TEST_KUBECONFIG'] ?? ''], env: { NAMESPACE: ns.name } });
    const pod = await createPod(kubeConfig, ns.name, 'rot-1', { 'dapr.io/app-id': 'rot' });
    const token = await tokenFor(kubeConfig, ns.name, 'default', pod);
    const signWith = async (anchors: string): Promise<string> => {
      const client = sentryClient(`127.0.0.1:${sentry.grpcPort}`, anchors, sentryId);
      try {
        const response = await client.sign({ id: 'rot', namespace: ns.name, token, token_validator: 'KUBERNETES', certificate_signing_request: csrPem() });
        return response.workload_certificate.toString();
      } finally {
        client.close();
      }
    };
    const write = async (data: { 'ca.crt': string; 'issuer.crt'?: string; 'issuer.key'?: string }): Promise<void> => {
      const secret = await core.readNamespacedSecret({ namespace: ns.name, name: 'dapr-trust-bundle' });
      const encoded = Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
      await core.replaceNamespacedSecret({ namespace: ns.name, name: 'dapr-trust-bundle', body: { ...secret, data: { ...secret.data, ...encoded } } });
      const configMap = await core.readNamespacedConfigMap({ namespace: ns.name, name: 'dapr-trust-bundle' });
      await core.replaceNamespacedConfigMap({ namespace: ns.name, name: 'dapr-trust-bundle', body: { ...configMap, data: { ...configMap.data, 'ca.crt': data['ca.crt'] } } });
    };
    /** Polls until sentry signs under the expected anchors (it reloads from its watch). */
    const signedUnder = async (anchors: string, rootCount: number): Promise<string> =>
      pollUntil('sentry reloaded the bundle', async () => {
        const chain = await signWith(anchors).catch(() => undefined);
        if (!chain) return undefined;
        const leaf = splitPem(chain);
        const roots = splitPem(anchors);
        const last = leaf[leaf.length - 1];
        return roots.length === rootCount && last && roots.slice(-1)[0] && last.checkIssued(roots[roots.length - 1]!) ? chain : undefined;
      }, { timeoutMs: 20_000 });

    try {
      const r1 = (await core.readNamespacedConfigMap({ namespace: ns.name, name: 'dapr-trust-bundle' })).data?.['ca.crt'] ?? '';
      const c1 = await signWith(r1);
      verifyChain(c1, r1);

      const second = generateCaBundle({ trustDomain: TRUST_DOMAIN, sentrySpiffeId: sentryId, algorithm: 'ecdsa-p256', now: new Date() });
      const both = `${r1.trim()}\n${second.trustAnchorsPem.trim()}\n`;
      // 1. add the second root beside the first; the issuer stays
      await write({ 'ca.crt': both });
      verifyChain(await signWith(both), both);
      verifyChain(c1, both);
      // 2. switch the issuer to one under the second root
      await write({ 'ca.crt': both, 'issuer.crt': second.issuerChainPem, 'issuer.key': second.issuerKeyPem });
      const c3 = await signedUnder(both, 2);
      verifyChain(c1, both);
      verifyChain(c3, both);
      // 3. retire the first root
      const r2 = second.trustAnchorsPem;
      await write({ 'ca.crt': r2 });
      const c4 = await signedUnder(r2, 1);
      verifyChain(c3, r2);
      verifyChain(c4, r2);
      assert.equal(metricValue(await sentry.metrics(), 'tsdapr_sentry_trust_bundle_error', { code: 'bundle_mismatch' }), 0);
    } finally {
      await sentry.stop();
      await ns.cleanup();
    }
  });
});
