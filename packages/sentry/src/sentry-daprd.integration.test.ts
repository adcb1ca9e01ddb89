import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, test } from 'node:test';
import { startDaprd, type Daprd } from '@tsdapr/e2e-harness';
import { startSentryProcess, type SentryProcess } from './test-support/sentry-process.js';

/** The certificate a TLS server presents, read from the handshake. */
function presentedCertificateSan(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const san = socket.getPeerCertificate().subjectaltname;
      socket.destroy();
      resolve(san);
    });
    socket.on('error', reject);
  });
}

let credentialsDir: string;
let sentry: SentryProcess;
let daprd: Daprd | undefined;

before(async () => {
  credentialsDir = await mkdtemp(join(tmpdir(), 'tsdapr-sentry-'));
  // daprd's defaults: control-plane trust domain localhost, namespace default.
  sentry = await startSentryProcess({ args: ['--mode', 'standalone', '--issuer-credentials', credentialsDir, '--trust-domain', 'localhost'], env: { NAMESPACE: 'default' } });
});

after(async () => {
  await daprd?.stop();
  await sentry?.stop();
  await rm(credentialsDir, { recursive: true, force: true });
});

test('real daprd with --enable-mtls gets its certificate from our sentry and turns healthy', async () => {
  const anchors = await readFile(join(credentialsDir, 'ca.crt'), 'utf8');
  daprd = await startDaprd({
    appId: 'mtls-app',
    args: ['--enable-mtls', '--sentry-address', `127.0.0.1:${sentry.grpcPort}`, '--control-plane-trust-domain', 'localhost', '--control-plane-namespace', 'default'],
    env: { DAPR_TRUST_ANCHORS: anchors, NAMESPACE: 'default' },
  });
  try {
    await daprd.waitHealthy(60_000);
  } catch (err) {
    assert.fail(`daprd did not turn healthy: ${(err as Error).message}\n--- daprd ---\n${daprd.logs().slice(-3000)}\n--- sentry ---\n${sentry.logs().slice(-3000)}`);
  }
  // The SVID daprd serves on its internal gRPC port is the one our sentry signed.
  assert.equal(await presentedCertificateSan(daprd.internalGrpcPort), 'URI:spiffe://public/ns/default/mtls-app');
  assert.match(sentry.logs(), /certificate signed[^\n]*spiffe:\/\/public\/ns\/default\/mtls-app|spiffe:\/\/public\/ns\/default\/mtls-app[^\n]*certificate signed/);
});
