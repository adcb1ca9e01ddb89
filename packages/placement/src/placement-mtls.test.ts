import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { TlsMaterial, clientCredentials, type TlsIdentity } from '@tsdapr/grpc';
import { silentLogger, untilAborted } from '@tsdapr/runtime';
import { Registry } from 'prom-client';
import { parsePlacementOptions } from './options.js';
import { createPlacement } from './placement.js';
import { SidecarClient } from './server/sidecar-client.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const PLACEMENT_ID = 'spiffe://cluster.local/ns/dapr-system/dapr-placement';

interface Issued extends TlsIdentity {
  readonly certificate: x509.X509Certificate;
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** A test CA and leaf certificates shaped like Sentry's workload certificates (packages/pki builds the real ones). */
async function testCa() {
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']));
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 3_600_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'O=cluster.local',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)],
  });
  let serial = 2;
  return {
    anchorsPem: ca.toString('pem'),
    async issue(spiffeId: string): Promise<Issued> {
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']));
      const certificate = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, '0'),
        subject: '',
        issuer: ca.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: ALG,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true),
        ],
      });
      return { certificate, certificateChainPem: certificate.toString('pem'), privateKeyPem: await keyPem(keys) };
    },
  };
}

void test('with mTLS: sidecars are authorized by SPIFFE ID; the Host must name the caller\'s app id and namespace', async (t) => {
  const ca = await testCa();
  const server = await ca.issue(PLACEMENT_ID);
  const app1 = await ca.issue('spiffe://public/ns/default/app1');
  const dir = mkdtempSync(join(tmpdir(), 'tsdapr-placement-tls-'));
  writeFileSync(join(dir, 'ca.crt'), ca.anchorsPem);
  writeFileSync(join(dir, 'tls.crt'), server.certificateChainPem);
  writeFileSync(join(dir, 'tls.key'), server.privateKeyPem);

  const options = parsePlacementOptions(
    [
      '--port=0',
      '--listen-address=127.0.0.1',
      '--healthz-port=0',
      '--healthz-listen-address=127.0.0.1',
      '--enable-metrics=false',
      '--tls-enabled',
      '--trust-domain=cluster.local',
      `--trust-anchors-file=${join(dir, 'ca.crt')}`,
      `--tls-cert-file=${join(dir, 'tls.crt')}`,
      `--tls-key-file=${join(dir, 'tls.key')}`,
    ],
    { NAMESPACE: 'dapr-system' },
  );
  const controller = new AbortController();
  let done: Promise<void> = Promise.resolve();
  let port = 0;
  const bound = new Promise<void>((resolve) => {
    const placement = createPlacement(options, {
      logger: silentLogger(),
      registry: new Registry(),
      onListening: (server, p) => {
        if (server === 'grpc') {
          port = p;
          resolve();
        }
      },
    });
    done = placement.run(controller.signal);
  });
  await bound;
  const address = `127.0.0.1:${port}`;
  const credentials = (identity?: TlsIdentity) => clientCredentials({ trustAnchorsPem: ca.anchorsPem, expectedServerId: PLACEMENT_ID, ...(identity ? { identity } : {}) });

  try {
    await t.test('a sidecar whose Host matches its certificate gets its table', async () => {
      const client = new SidecarClient({ address, name: '10.0.0.1:50002', id: 'app1', namespace: 'default', entities: ['a'], credentials: credentials(app1) });
      await client.waitForMembers({ a: ['10.0.0.1:50002'] });
      client.close();
    });
    await t.test('a Host naming another namespace than the SPIFFE ID is PERMISSION_DENIED', async () => {
      const client = new SidecarClient({ address, name: 'h', id: 'app1', namespace: 'other', entities: ['a'], credentials: credentials(app1) });
      const ended = await client.waitEnded();
      assert.equal(ended.code, status.PERMISSION_DENIED);
      assert.equal(ended.details, "provided client namespace other doesn't match the one in the SPIFFE ID (default)");
    });
    await t.test('a Host naming another app id than the SPIFFE ID is PERMISSION_DENIED', async () => {
      const client = new SidecarClient({ address, name: 'h', id: 'app2', namespace: 'default', entities: ['a'], credentials: credentials(app1) });
      const ended = await client.waitEnded();
      assert.equal(ended.code, status.PERMISSION_DENIED);
      assert.equal(ended.details, "provided app ID app2 doesn't match the one in the SPIFFE ID (app1)");
    });
    await t.test('a client without a certificate does not get a stream', async () => {
      const client = new SidecarClient({ address, name: 'h', id: 'app1', namespace: 'default', entities: ['a'], credentials: credentials() });
      const ended = await client.waitEnded();
      assert.equal(ended.code, status.UNAVAILABLE);
      assert.deepEqual(client.orders, []);
    });
    await t.test('a plaintext client does not get a stream', async () => {
      const client = new SidecarClient({ address, name: 'h', id: 'app1', namespace: 'default', entities: ['a'] });
      const ended = await client.waitEnded();
      assert.equal(ended.code, status.UNAVAILABLE);
    });
  } finally {
    controller.abort();
    await done;
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a rotated serving certificate applies to new connections without a restart', async () => {
  const ca = await testCa();
  const first = await ca.issue(PLACEMENT_ID);
  const second = await ca.issue(PLACEMENT_ID);
  const app1 = await ca.issue('spiffe://public/ns/default/app1');
  const material = new TlsMaterial({ identity: first, trustAnchorsPem: ca.anchorsPem });
  const options = parsePlacementOptions(
    ['--port=0', '--listen-address=127.0.0.1', '--healthz-port=0', '--healthz-listen-address=127.0.0.1', '--enable-metrics=false', '--tls-enabled', '--trust-domain=cluster.local'],
    { NAMESPACE: 'dapr-system' },
  );
  const controller = new AbortController();
  let done: Promise<void> = Promise.resolve();
  const port = await new Promise<number>((resolve) => {
    const placement = createPlacement(options, {
      logger: silentLogger(),
      registry: new Registry(),
      servingIdentity: { material, load: () => Promise.resolve(), runner: (signal) => untilAborted(signal) },
      onListening: (server, p) => {
        if (server === 'grpc') resolve(p);
      },
    });
    done = placement.run(controller.signal);
  });
  /** The serial of the certificate a new mTLS connection is served. */
  const servedSerial = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.anchorsPem, cert: app1.certificateChainPem, key: app1.privateKeyPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.end();
      });
      socket.on('error', reject);
    });
  try {
    assert.equal((await servedSerial()).toLowerCase(), first.certificate.serialNumber.toLowerCase());
    material.setIdentity(second);
    assert.equal((await servedSerial()).toLowerCase(), second.certificate.serialNumber.toLowerCase());
    const client = new SidecarClient({
      address: `127.0.0.1:${port}`,
      name: '10.0.0.1:50002',
      id: 'app1',
      namespace: 'default',
      entities: ['a'],
      credentials: clientCredentials({ trustAnchorsPem: ca.anchorsPem, expectedServerId: PLACEMENT_ID, identity: app1 }),
    });
    await client.waitForMembers({ a: ['10.0.0.1:50002'] });
    client.close();
  } finally {
    controller.abort();
    await done;
  }
});
