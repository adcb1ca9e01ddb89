import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { freePorts, pollUntil, probe, requireTestCluster, startProcess, testKubeConfig, type ManagedProcess } from '@tsdapr/e2e-harness';
import { silentLogger } from '@tsdapr/runtime';
import { createInjector } from '../injector.js';
import { parseInjectorOptions } from '../options.js';

/**
 * Upstream's serving identity: the injector asks our Sentry (the built
 * service, run as a process in standalone mode) for the `dapr-injector` SVID,
 * serves the webhook with it, and publishes the trust anchors as the
 * MutatingWebhookConfiguration's caBundle.
 */
const SENTRY_MAIN = fileURLToPath(new URL('../../../sentry/dist/main.js', import.meta.url));
const NAMESPACE = 'dapr-system';

void describe('injector serving with its Sentry-issued SVID', { timeout: 120_000 }, () => {
  let kc: KubeConfig;
  let dir: string;
  let sentry: ManagedProcess | undefined;
  let sentryOutput = '';
  let sentryPort: number;
  let webhookName: string;
  let stop: (() => Promise<void>) | undefined;
  let webhookPort: number;

  /** The injector in process with its SVID from the Sentry above; resolves with its stop once it listens. */
  const startInjector = async (port: number, args: string[]): Promise<() => Promise<void>> => {
    const options = parseInjectorOptions(
      ['--listen-address', '127.0.0.1', '--port', String(port), '--healthz-port', '0', '--metrics-port', '0', '--kubeconfig', requireTestCluster(), '--trust-anchors-file', join(dir, 'ca.crt'), '--report-missed-injections=false', ...args],
      { SIDECAR_IMAGE: 'ghcr.io/dapr/daprd:1.17.5', NAMESPACE, DAPR_SENTRY_ADDRESS: `127.0.0.1:${sentryPort}` },
    );
    const abort = new AbortController();
    let listening: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (listening = resolve));
    const running = createInjector(options, { logger: silentLogger(), onWebhookListening: () => listening() }).run(abort.signal);
    await Promise.race([ready, running.then(() => Promise.reject(new Error('the injector stopped before listening')))]);
    return async () => {
      abort.abort();
      await running;
    };
  };

  /** The webhook's certificate as a client dialing the injector Service sees it. */
  const peerOf = (port: number): Promise<{ san: string; authorized: boolean; bits: number | undefined; keyType: string | undefined }> => {
    const anchors = readFileSync(join(dir, 'ca.crt'), 'utf8');
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername: `dapr-sidecar-injector.${NAMESPACE}.svc`, ca: anchors }, () => {
        const certificate = socket.getPeerX509Certificate();
        resolve({ san: certificate?.subjectAltName ?? '', authorized: socket.authorized, bits: certificate?.publicKey.asymmetricKeyDetails?.modulusLength, keyType: certificate?.publicKey.asymmetricKeyType });
        socket.destroy();
      });
      socket.on('error', reject);
    });
  };

  before(async () => {
    requireTestCluster();
    kc = testKubeConfig();
    assert.ok(existsSync(SENTRY_MAIN), `${SENTRY_MAIN} is missing: build the workspace ("pnpm build")`);
    dir = mkdtempSync(join(tmpdir(), 'tsdapr-injector-svid-'));
    const [grpc, healthz, metrics, webhook] = (await freePorts(4)) as [number, number, number, number];
    sentryPort = grpc;
    webhookPort = webhook;
    sentry = startProcess({
      name: 'sentry',
      command: process.execPath,
      args: [SENTRY_MAIN, '--mode', 'standalone', '--issuer-credentials', dir, '--trust-domain', 'cluster.local', '--port', String(grpc), '--listen-address', '127.0.0.1', '--healthz-port', String(healthz), '--metrics-port', String(metrics)],
      env: { ...process.env, NAMESPACE },
      onOutput: (chunk) => {
        sentryOutput += chunk.toString('utf8');
      },
    });
    await pollUntil(
      'sentry /readyz',
      async () => {
        if (sentry?.hasExited()) throw new Error(`sentry exited:\n${sentryOutput.slice(-2000)}`);
        const response = await probe(`http://127.0.0.1:${healthz}/readyz`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );

    webhookName = `tsdapr-injector-svid-${webhook}`;
    // Never called by the API server (no namespace matches); only its caBundle matters here.
    await kc.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
      body: {
        metadata: { name: webhookName },
        webhooks: [
          {
            name: 'sidecar-injector.dapr.io',
            clientConfig: { url: `https://127.0.0.1:${webhook}/mutate` },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
            namespaceSelector: { matchLabels: { 'tsdapr.io/never': 'true' } },
            failurePolicy: 'Ignore',
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
          },
        ],
      },
    });

    stop = await startInjector(webhook, ['--webhook-configuration-name', webhookName]);
  });

  after(async () => {
    await stop?.();
    await sentry?.stop(5_000);
    await kc?.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: webhookName }).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  void test('the webhook presents the dapr-injector SVID, valid for the Service name the API server dials', async () => {
    const peer = await peerOf(webhookPort);
    assert.equal(peer.authorized, true);
    assert.equal(peer.keyType, 'ec', 'the 1.17 SVID key is ECDSA P-256');
    assert.match(peer.san, /URI:spiffe:\/\/cluster\.local\/ns\/dapr-system\/dapr-injector/);
    assert.match(peer.san, /DNS:dapr-sidecar-injector\.dapr-system\.svc/);
  });

  void test('with --svid-key-algorithm rsa-2048 (as 1.18) the SVID key is RSA-2048, still issued by our Sentry', async () => {
    const [port] = (await freePorts(1)) as [number];
    const stopRsa = await startInjector(port, ['--svid-key-algorithm', 'rsa-2048', '--patch-webhook-ca-bundle=false']);
    try {
      const peer = await peerOf(port);
      assert.equal(peer.authorized, true);
      assert.equal(peer.keyType, 'rsa');
      assert.equal(peer.bits, 2048);
      assert.match(peer.san, /URI:spiffe:\/\/cluster\.local\/ns\/dapr-system\/dapr-injector/);
    } finally {
      await stopRsa();
    }
  });

  void test('the caBundle of the MutatingWebhookConfiguration is the trust anchors', async () => {
    const anchors = readFileSync(join(dir, 'ca.crt'), 'utf8');
    await pollUntil(
      'the caBundle to be the trust anchors',
      async () => {
        const config = await kc.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: webhookName });
        return config.webhooks?.[0]?.clientConfig.caBundle === Buffer.from(anchors).toString('base64') ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
  });
});
