import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { Registry } from 'prom-client';
import { TlsMaterial } from '@tsdapr/grpc';
import { silentLogger } from '@tsdapr/runtime';
import { createInjectorMetrics } from '../metrics.js';
import { defaultInjectorSettings } from '../patch/injector-settings.js';
import { daprEnabled, pod } from '../testing/pod-fixtures.js';
import type { AdmissionHandlerDeps } from './admission-handler.js';
import { selfSignedServingCertificate } from './serving-certificate.js';
import { webhookApp, webhookServer } from './webhook-server.js';

const metrics = createInjectorMetrics(new Registry());
const handler: AdmissionHandlerDeps = {
  settings: () => defaultInjectorSettings({ trustAnchorsPem: 'PEM' }),
  isAuthorized: () => true,
  metrics,
  logger: silentLogger(),
};

function review(object: unknown): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'shop', operation: 'CREATE', userInfo: { username: 'admin', groups: ['system:masters'] }, object },
  });
}

async function post(base: string, path: string, body: Buffer | string, contentType = 'application/json'): Promise<{ status: number; body: string }> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, body: await response.text() };
}

void describe('webhook HTTP surface', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer(webhookApp({ handler, metrics, logger: silentLogger(), maxBodyBytes: 64 * 1024 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  void test('POST /mutate answers an AdmissionReview', async () => {
    const response = await post(base, '/mutate', review(pod('p', daprEnabled())));
    assert.equal(response.status, 200);
    const parsed = JSON.parse(response.body) as { response: { allowed: boolean; patchType: string } };
    assert.equal(parsed.response.allowed, true);
    assert.equal(parsed.response.patchType, 'JSONPatch');
  });

  void test('content type with a charset is accepted', async () => {
    assert.equal((await post(base, '/mutate', review(pod('p')), 'application/json; charset=utf-8')).status, 200);
  });

  const bad: [string, Buffer | string, string, number, RegExp][] = [
    ['an empty body', '', 'application/json', 400, /empty body/],
    ['another content type', review(pod('p')), 'text/plain', 415, /invalid Content-Type/],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'application/json', 400, /not UTF-8 JSON/],
    ['text that is not JSON', '{"apiVersion": ', 'application/json', 400, /not UTF-8 JSON/],
    ['JSON that is not a review', '{"hello": "world"}', 'application/json', 400, /not an AdmissionReview/],
    ['a body over the limit', review({ metadata: { annotations: { big: 'x'.repeat(100 * 1024) } } }), 'application/json', 413, /larger than 65536 bytes/],
  ];
  for (const [what, body, type, status, message] of bad) {
    void test(`refuses ${what} with ${status}`, async () => {
      const response = await post(base, '/mutate', body, type);
      assert.equal(response.status, status);
      assert.match((JSON.parse(response.body) as { error: string }).error, message);
    });
  }

  void test('other paths are 404', async () => {
    assert.equal((await post(base, '/other', '{}')).status, 404);
    assert.equal((await fetch(`${base}/mutate`)).status, 404);
  });
});

void describe('webhook HTTPS server', () => {
  void test('serves over TLS with the material it is given, and follows a new identity', async () => {
    const first = await selfSignedServingCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const second = await selfSignedServingCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const tls = new TlsMaterial({ identity: first.identity, trustAnchorsPem: first.caBundlePem });
    const abort = new AbortController();
    let onPort: (port: number) => void = () => undefined;
    const listening = new Promise<number>((resolve) => (onPort = resolve));
    const running = webhookServer({ host: '127.0.0.1', port: 0, tls, handler, metrics, logger: silentLogger(), onListening: (port) => onPort(port) })(abort.signal);
    try {
      const port = await listening;
      const call = (ca: string): Promise<{ status: number; serial: string }> =>
        new Promise((resolve, reject) => {
          const req = httpsRequest({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca, headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
            const serial = (res.socket as unknown as { getPeerCertificate(): { serialNumber: string } }).getPeerCertificate().serialNumber;
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, serial }));
          });
          req.on('error', reject);
          req.end(review(pod('p')));
        });
      const one = await call(first.caBundlePem);
      assert.equal(one.status, 200);
      assert.equal(one.serial, new X509Certificate(first.identity.certificateChainPem).serialNumber);

      tls.setIdentity(second.identity);
      const two = await call(second.caBundlePem);
      assert.equal(two.serial, new X509Certificate(second.identity.certificateChainPem).serialNumber);
      await assert.rejects(call(first.caBundlePem), /self[- ]signed|unable to verify|certificate/i);
    } finally {
      abort.abort();
      await running;
    }
  });

  void test('the self-signed certificate names what the API server dials and is RSA', async () => {
    const serving = await selfSignedServingCertificate({ dnsNames: ['dapr-sidecar-injector.dapr-system.svc'], ipAddresses: ['127.0.0.1'] });
    const cert = new X509Certificate(serving.identity.certificateChainPem);
    assert.match(cert.subjectAltName ?? '', /DNS:dapr-sidecar-injector\.dapr-system\.svc/);
    assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(serving.caBundlePem, serving.identity.certificateChainPem);
  });
});
